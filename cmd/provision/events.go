package main

import (
	"bytes"
	"encoding/json"
	"io"
	"sync"
	"time"
)

// eventWriter prints the --json stream: one JSON object per line, always
// starting with "event" and "time" (RFC 3339, UTC, milliseconds), then
// the event's fields in a fixed order. Field names are part of the
// interface orchestrators build on (README, "JSON events"); add fields,
// never rename them.
type eventWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// events returns the run's event writer on stdout.
func (env *environment) events() *eventWriter {
	if env.ev == nil {
		env.ev = &eventWriter{w: env.stdout}
	}
	return env.ev
}

// emit writes one event; kv alternates field names and values.
func (e *eventWriter) emit(event string, kv ...any) {
	var b bytes.Buffer
	b.WriteString(`{"event":`)
	writeJSON(&b, event)
	b.WriteString(`,"time":`)
	writeJSON(&b, time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00"))
	for i := 0; i+1 < len(kv); i += 2 {
		b.WriteByte(',')
		writeJSON(&b, kv[i])
		b.WriteByte(':')
		writeJSON(&b, kv[i+1])
	}
	b.WriteString("}\n")
	e.mu.Lock()
	defer e.mu.Unlock()
	_, _ = e.w.Write(b.Bytes())
}

func writeJSON(b *bytes.Buffer, v any) {
	if err, ok := v.(error); ok {
		v = err.Error()
	}
	out, err := json.Marshal(v)
	if err != nil {
		out, _ = json.Marshal(err.Error())
	}
	b.Write(out)
}

// seconds rounds a duration to milliseconds, as a number of seconds.
func seconds(d time.Duration) float64 {
	return float64(d.Milliseconds()) / 1000
}

// jsonReporter is the reporter of --json: file_start, progress every
// interval for each active file, file_done and file_failed.
type jsonReporter struct {
	ev    *eventWriter
	track *tracker

	mu     sync.Mutex
	active map[*item]sample
	stop   chan struct{}
	done   chan struct{}
}

func newJSONReporter(ev *eventWriter, track *tracker, every time.Duration) *jsonReporter {
	r := &jsonReporter{ev: ev, track: track, active: map[*item]sample{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go r.loop(every)
	return r
}

func (r *jsonReporter) loop(every time.Duration) {
	defer close(r.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case now := <-t.C:
			r.mu.Lock()
			for _, it := range sortedItems(r.active) {
				last := r.active[it]
				cur := it.prog.Done()
				got := it.prog.Fetched() // this run's bytes: a resume is not speed
				speed := float64(got-last.bytes) / now.Sub(last.at).Seconds()
				r.active[it] = sample{now, got}
				r.ev.emit("progress", "entry", it.entry.Key, "file", it.label,
					"bytes", cur, "size", it.prog.Size(), "speed", int64(speed),
					"connections", it.prog.Conns())
			}
			r.mu.Unlock()
		}
	}
}

func (r *jsonReporter) start(it *item) {
	r.track.start(it)
	r.mu.Lock()
	r.active[it] = sample{time.Now(), it.prog.Fetched()}
	r.mu.Unlock()
	r.ev.emit("file_start", "entry", it.entry.Key, "file", it.label, "path", it.final,
		"size", it.target.Size, "resume_bytes", max(it.prog.Done(), it.resumed))
}

func (r *jsonReporter) finish(it *item) {
	r.track.finish(it)
	r.mu.Lock()
	delete(r.active, it)
	r.mu.Unlock()
	st, err, d := it.snapshot()
	if st == statusFailed {
		r.ev.emit("file_failed", "entry", it.entry.Key, "file", it.label,
			"optional", it.entry.Optional, "error", err, "seconds", seconds(d))
		return
	}
	if st == statusInterrupted {
		r.ev.emit("file_interrupted", "entry", it.entry.Key, "file", it.label,
			"bytes", it.prog.Done(), "seconds", seconds(d))
		return
	}
	queued, transfer := r.track.times(it)
	r.ev.emit("file_done", "entry", it.entry.Key, "file", it.label, "path", it.final,
		"size", it.size, "fetched", it.fetched, "seconds", seconds(d),
		"queued_seconds", seconds(queued), "speed", speedOf(it.fetched, transfer),
		"verified", verifiedBy(it))
}

func (r *jsonReporter) note(string) {} // failures arrive as their own events

func (r *jsonReporter) warn(string, string) {} // warnings are their own events

func (r *jsonReporter) close() {
	close(r.stop)
	<-r.done
	r.track.close()
}

// speedOf is bytes per second over d, 0 when it cannot be told.
func speedOf(n int64, d time.Duration) int64 {
	if n <= 0 || d <= 0 {
		return 0
	}
	return int64(float64(n) / d.Seconds())
}

// verifiedBy names what checked the file: "sha256", "size", or "none" when
// the server published neither (a stream cut short cannot be told apart).
func verifiedBy(it *item) string {
	switch {
	case it.target.SHA256 != "":
		return "sha256"
	case it.target.Size >= 0:
		return "size"
	}
	return "none"
}
