package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"provision/store"
)

// reporter shows a run's progress. Implementations are safe for concurrent
// use; start and finish are called from the download goroutines.
type reporter interface {
	start(it *item)
	finish(it *item)
	note(msg string)       // an entry that failed before any file started: stays visible
	warn(what, msg string) // a line worth knowing, not a failure: "replace", ...
	close()
}

// newReporter picks how progress is shown: JSON events (--json), only
// failures (--quiet), bars on a terminal, else plain lines. It also starts
// env.track, which the reporter's close stops and the summary reads.
func (env *environment) newReporter(cfg *config) reporter {
	track := newTracker(200 * time.Millisecond)
	env.track = track
	switch {
	case cfg.JSON:
		return newJSONReporter(env.events(), track, 2*time.Second)
	case cfg.Quiet:
		return &lineReporter{w: env.stdout, quiet: true, track: track, begin: time.Now()}
	}
	if f, ok := env.stdout.(*os.File); ok && isTerminal(f.Fd()) {
		return newBarReporter(f, track, barLayoutFor(termWidth(f.Fd())))
	}
	return newLineReporter(env.stdout, track, 5*time.Second)
}

// lineReporter writes plain lines for container logs, each prefixed with
// the time since the run began: one when a file starts, one per active
// file every interval (and a total while several run), one when a file
// ends. Files that wait for a connection say so instead of showing a
// speed of zero.
type lineReporter struct {
	w     io.Writer
	quiet bool
	track *tracker
	begin time.Time

	mu         sync.Mutex
	active     map[*item]sample
	saidQueued map[*item]bool
	ended      [2]int64 // bytes and size of the files that ended, for the total line
	stop       chan struct{}
	done       chan struct{}
}

// sample is what a file had received in this run (engine.Progress.Fetched)
// at a time: speeds are differences of samples, so bytes already on disk
// from an earlier run never count as speed.
type sample struct {
	at    time.Time
	bytes int64
}

func newLineReporter(w io.Writer, track *tracker, every time.Duration) *lineReporter {
	r := &lineReporter{w: w, track: track, begin: time.Now(), active: map[*item]sample{},
		saidQueued: map[*item]bool{}, stop: make(chan struct{}), done: make(chan struct{})}
	go r.loop(every)
	return r
}

func (r *lineReporter) loop(every time.Duration) {
	defer close(r.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case now := <-t.C:
			r.tick(now)
		}
	}
}

func (r *lineReporter) tick(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var done, size, moved int64
	var dt time.Duration
	moving := 0
	for _, it := range sortedItems(r.active) {
		last := r.active[it]
		cur := it.prog.Done()
		dt = now.Sub(last.at)
		got := it.prog.Fetched() // this run's bytes: what is on disk already is not speed
		since := last.at
		if first, ok := r.track.firstByte(it); ok && first.After(since) {
			since = first // time spent queued is not transfer time
		}
		speed := float64(got-last.bytes) / max(now.Sub(since), time.Millisecond).Seconds()
		r.active[it] = sample{now, got}
		sz := it.prog.Size()
		if sz <= 0 {
			sz = it.target.Size
		}
		done, size, moved = done+cur, size+max(sz, 0), moved+got-last.bytes
		if r.track.waiting(it) {
			// Once per file: a long queue would otherwise repeat every tick.
			if !r.saidQueued[it] {
				r.saidQueued[it] = true
				r.printf("queued", "%s  waiting for a connection (%s)", it.label,
					sizeText(it.target.Size))
			}
			continue
		}
		moving++
		if sz > 0 && cur >= sz {
			r.printf("finishing", "%s  all %s received; closing, syncing, verifying",
				it.label, store.HumanBytes(sz))
			continue
		}
		r.printf("downloading", "%s  %s", it.label, progressText(cur, sz, speed))
	}
	if moving > 0 && len(r.active) > 1 && dt > 0 {
		counts := fmt.Sprintf("%d active", moving)
		if q := len(r.active) - moving; q > 0 {
			counts += fmt.Sprintf(", %d queued", q)
		}
		r.printf("total", "%s  %s", counts, progressText(done+r.ended[0], size+r.ended[1],
			float64(moved)/dt.Seconds()))
	}
}

// printf writes "[  12.3s] what         text"; the caller holds r.mu.
func (r *lineReporter) printf(what, format string, a ...any) {
	fmt.Fprintf(r.w, "[%7s] %-11s %s\n", elapsedText(time.Since(r.begin)), what,
		fmt.Sprintf(format, a...))
}

func (r *lineReporter) start(it *item) {
	r.track.start(it)
	if r.quiet {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.active[it] = sample{time.Now(), it.prog.Fetched()}
	if have := max(it.prog.Done(), it.resumed); have > 0 {
		r.printf("resume", "%s (%s of %s already on disk)", it.label, store.HumanBytes(have),
			sizeText(it.target.Size))
		return
	}
	r.printf("start", "%s (%s)", it.label, sizeText(it.target.Size))
}

func (r *lineReporter) finish(it *item) {
	r.track.finish(it)
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.active, it)
	r.ended[0] += it.prog.Done()
	r.ended[1] += max(it.prog.Size(), it.prog.Done())
	st, err, _ := it.snapshot()
	switch {
	case st == statusFailed:
		r.printf("FAILED", "%s: %v", it.label, err)
	case st == statusInterrupted:
		r.printf("stopped", "%s: interrupted, %s on disk; run again to resume", it.label,
			sizeText(it.prog.Done()))
	case !r.quiet:
		r.printf("done", "%s", doneText(it, r.track))
	}
}

// doneText is "loras/x.safetensors  143 MiB in 12.1s (11.8 MiB/s, queued
// 3.0s), sha256 verified".
func doneText(it *item, track *tracker) string {
	queued, transfer := track.times(it)
	var notes []string
	if it.fetched >= 1<<20 { // the speed of a few KiB says nothing
		notes = append(notes, speedText(it.fetched, transfer))
	}
	if queued >= time.Second {
		notes = append(notes, "queued "+roundDuration(queued).String())
	}
	extra := ""
	if len(notes) > 0 {
		extra = " (" + strings.Join(notes, ", ") + ")"
	}
	return fmt.Sprintf("%s  %s in %s%s%s", it.label, store.HumanBytes(it.size),
		roundDuration(transfer), extra, verifiedText(it))
}

func (r *lineReporter) note(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.printf("FAILED", "%s", msg)
}

func (r *lineReporter) warn(what, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.printf(what, "%s", msg)
}

func (r *lineReporter) close() {
	if r.stop != nil {
		close(r.stop)
		<-r.done
	}
	r.track.close()
}

// sortedItems returns the keys of m by label, for a stable print order.
func sortedItems[V any](m map[*item]V) []*item {
	out := make([]*item, 0, len(m))
	for it := range m {
		out = append(out, it)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].label < out[j].label })
	return out
}

// barReporter draws mpb bars on a terminal: one per active file, the
// total at the bottom. A file that ends leaves its bar and gets a line
// above the bars (done or FAILED), so finished bars never pile up. The
// text beside each bar is computed here, in the same units as the log
// lines; mpb only draws.
type barReporter struct {
	p     *mpb.Progress
	track *tracker
	begin time.Time
	lay   barLayout
	w     io.Writer // the terminal

	active, queued atomic.Int32 // files receiving bytes, files waiting for a connection

	mu    sync.Mutex
	bars  map[*item]*fileBar
	stop  chan struct{}
	done  chan struct{}
	total *fileBar
	items []*item
}

// fileBar is one bar and the figures its decorators show. Decorators run
// inside mpb, so they read atomics and never take barReporter.mu (update
// holds it while it waits for mpb).
type fileBar struct {
	bar        *mpb.Bar
	done, size atomic.Int64
	speed      atomic.Uint64 // float64 bits, bytes/s, smoothed
	last       int64         // bytes at the previous update
	waiting    func() bool   // no byte yet: show "queued"
	lay        barLayout
}

func (f *fileBar) setSpeed(dt time.Duration, cur int64) {
	if dt <= 0 {
		return
	}
	inst := float64(cur-f.last) / dt.Seconds()
	f.last = cur
	old := math.Float64frombits(f.speed.Load())
	if old == 0 {
		old = inst
	}
	f.speed.Store(math.Float64bits(0.85*old + 0.15*inst)) // about 1.3 s of memory
}

// counters is "35.1 MiB / 64.0 MiB", right-aligned in a fixed width so
// that the bars line up and the line's width is known.
func (f *fileBar) counters(decor.Statistics) string {
	text := store.HumanBytes(f.done.Load())
	if sz := f.size.Load(); sz > 0 {
		text += " / " + store.HumanBytes(sz)
	}
	return fmt.Sprintf("%*s", countersWidth, text)
}

// rate is "10.3 MiB/s  ETA 4s", or "queued" before the first byte; a
// narrow terminal drops the ETA, then the speed (barLayout).
func (f *fileBar) rate(decor.Statistics) string {
	if f.waiting != nil && f.waiting() {
		return "queued"
	}
	speed := math.Float64frombits(f.speed.Load())
	done, size := f.done.Load(), f.size.Load()
	if size > 0 && done >= size {
		return "finishing"
	}
	if !f.lay.speed {
		return ""
	}
	out := store.HumanBytes(int64(speed)) + "/s"
	if f.lay.eta && size > 0 && speed > 1 {
		eta := time.Duration(float64(size-done) / speed * float64(time.Second))
		out += "  ETA " + roundDuration(eta).String()
	}
	return out
}

func (r *barReporter) newBar(name decor.Decorator, f *fileBar, opts ...mpb.BarOption) *fileBar {
	f.lay = r.lay
	opts = append(opts,
		mpb.PrependDecorators(name,
			decor.Any(f.counters, decor.WCSyncWidth)),
		mpb.AppendDecorators(decor.Any(f.rate)))
	// Made with total 0 so that reaching 100% never completes the bar
	// (a completed bar can no longer be dropped): finish drops it.
	f.bar = r.p.New(0, mpb.BarStyle().Lbound(" [").Rbound("] "),
		append(opts, mpb.BarWidth(r.lay.bar))...)
	if sz := f.size.Load(); sz > 0 {
		f.bar.SetTotal(sz, false)
	}
	return f
}

func newBarReporter(w io.Writer, track *tracker, lay barLayout) *barReporter {
	r := &barReporter{
		lay: lay, w: w,
		p: mpb.New(mpb.WithOutput(w), mpb.WithWidth(lay.bar),
			mpb.WithRefreshRate(150*time.Millisecond)),
		track: track, begin: time.Now(),
		bars: map[*item]*fileBar{},
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	total := &fileBar{}
	r.total = r.newBar(decor.Any(func(decor.Statistics) string {
		return totalText(int(r.active.Load()), int(r.queued.Load()), r.lay.names)
	}, decor.WCSyncWidthR), total, mpb.BarPriority(1<<30))
	go r.loop()
	return r
}

func (r *barReporter) loop() {
	defer close(r.done)
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-r.stop:
			r.update(time.Since(last))
			return
		case now := <-t.C:
			r.update(now.Sub(last))
			last = now
		}
	}
}

func (r *barReporter) update(dt time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var total, done, fetched int64
	for _, it := range r.items {
		size := it.prog.Size()
		if size < 0 {
			size = it.prog.Done()
		}
		total += size
		done += it.prog.Done()
		fetched += it.prog.Fetched()
	}
	var active, queued int32
	for it, f := range r.bars {
		cur := it.prog.Done()
		if size := it.prog.Size(); size > 0 {
			f.size.Store(size)
			f.bar.SetTotal(size, false)
		}
		f.done.Store(cur)
		// Speeds count this run's bytes only: a resumed file's bytes on
		// disk are not speed.
		f.setSpeed(dt, it.prog.Fetched())
		f.bar.SetCurrent(cur)
		if r.track.waiting(it) {
			queued++
		} else {
			active++
		}
	}
	r.active.Store(active)
	r.queued.Store(queued)
	r.total.size.Store(total)
	r.total.done.Store(done)
	r.total.setSpeed(dt, fetched)
	r.total.bar.SetTotal(total, false)
	r.total.bar.SetCurrent(done)
}

func (r *barReporter) start(it *item) {
	r.track.start(it)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.items = append(r.items, it)
	f := &fileBar{last: it.prog.Fetched(), waiting: func() bool { return r.track.waiting(it) }}
	f.size.Store(it.target.Size)
	f.done.Store(it.prog.Done())
	r.newBar(decor.Name(fitName(it.label, r.lay.names), decor.WCSyncWidthR), f)
	f.bar.SetCurrent(it.prog.Done())
	r.bars[it] = f
	r.queued.Add(1)
}

func (r *barReporter) finish(it *item) {
	r.track.finish(it)
	r.mu.Lock()
	defer r.mu.Unlock()
	st, err, _ := it.snapshot()
	if f, ok := r.bars[it]; ok {
		delete(r.bars, it)
		f.bar.Abort(true) // drop the bar; the line below replaces it
	}
	at := elapsedText(time.Since(r.begin))
	if st == statusFailed {
		fmt.Fprintf(r.p, "[%7s] FAILED  %s: %v\n", at, it.label, err)
		return
	}
	if st == statusInterrupted {
		fmt.Fprintf(r.p, "[%7s] stopped %s: interrupted, %s on disk; run again to resume\n",
			at, it.label, sizeText(it.prog.Done()))
		return
	}
	fmt.Fprintf(r.p, "[%7s] done    %s\n", at, doneText(it, r.track))
}

func (r *barReporter) note(msg string) {
	fmt.Fprintf(r.p, "[%7s] FAILED  %s\n", elapsedText(time.Since(r.begin)), msg)
}

func (r *barReporter) warn(what, msg string) {
	fmt.Fprintf(r.p, "[%7s] %-7s %s\n", elapsedText(time.Since(r.begin)), what, msg)
}

func (r *barReporter) close() {
	close(r.stop)
	<-r.done
	r.mu.Lock()
	for it, f := range r.bars {
		f.bar.Abort(true)
		delete(r.bars, it)
	}
	r.mu.Unlock()
	r.total.bar.Abort(true)
	r.p.Wait()
	// Clear what the terminal may have left on the cursor's line (the "^C"
	// a Ctrl-C echoes, a bar mpb was redrawing) before the summary.
	fmt.Fprint(r.w, "\r\x1b[K")
	r.track.close()
}

func verifiedText(it *item) string {
	switch verifiedBy(it) {
	case "sha256":
		return ", sha256 verified"
	case "size":
		return ", size verified"
	}
	return ", NOT verified (the server gave no size or hash; pin sha256 in the manifest)"
}
