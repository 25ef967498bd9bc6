package main

import (
	"sync"
	"time"
)

// tracker notices when each active file receives its first byte. Files
// share the connection budget, so a small file may wait behind big ones
// for seconds after it started; its transfer time and speed are counted
// from the first byte, and the wait is reported as queued time.
type tracker struct {
	mu    sync.Mutex
	base  map[*item]int64     // bytes on disk when the file started (a resume)
	first map[*item]time.Time // when bytes beyond base were first seen
	stop  chan struct{}
	done  chan struct{}
}

func newTracker(every time.Duration) *tracker {
	t := &tracker{base: map[*item]int64{}, first: map[*item]time.Time{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go t.loop(every)
	return t
}

func (t *tracker) loop(every time.Duration) {
	defer close(t.done)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return
		case now := <-tick.C:
			t.sample(now)
		}
	}
}

func (t *tracker) sample(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for it, base := range t.base {
		if _, ok := t.first[it]; !ok && it.prog.Done() > base {
			t.first[it] = now
		}
	}
}

func (t *tracker) start(it *item) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.base[it] = max(it.prog.Done(), it.resumed)
}

func (t *tracker) finish(it *item) {
	t.sample(time.Now())
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.base, it)
}

// waiting reports whether an active file has received nothing yet.
func (t *tracker) waiting(it *item) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.first[it]
	return !ok
}

// firstByte returns when the file received its first byte, if it has.
func (t *tracker) firstByte(it *item) (time.Time, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	first, ok := t.first[it]
	return first, ok
}

// times returns how long a file waited for its first byte (queued) and how
// long it then transferred; for a file still running, up to now.
func (t *tracker) times(it *item) (queued, transfer time.Duration) {
	it.mu.Lock()
	started, finished := it.started, it.finished
	it.mu.Unlock()
	if started.IsZero() {
		return 0, 0
	}
	if finished.IsZero() {
		finished = time.Now()
	}
	t.mu.Lock()
	first, ok := t.first[it]
	t.mu.Unlock()
	// A file done between two samples has no first byte time: all transfer.
	if !ok || first.Before(started) || first.After(finished) {
		return 0, finished.Sub(started)
	}
	return first.Sub(started), finished.Sub(first)
}

func (t *tracker) close() {
	select {
	case <-t.stop:
	default:
		close(t.stop)
		<-t.done
	}
}
