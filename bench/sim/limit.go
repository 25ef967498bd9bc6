package sim

import (
	"context"
	"sync"
	"time"
)

// bucket is a token bucket whose rate is given at each call, so that a
// per-connection cap follows the faults of whichever file the connection
// carries. The zero value is ready. It is safe for concurrent use.
type bucket struct {
	mu    sync.Mutex
	rate  float64
	avail float64 // may go negative: a debt later callers wait out
	last  time.Time
}

// refill brings avail up to now at rate, bounded by burst; a new or
// re-rated bucket starts with initial.
func (b *bucket) refill(rate, burst, initial float64) {
	now := time.Now()
	if b.rate != rate || b.last.IsZero() {
		b.rate, b.avail, b.last = rate, initial, now
		return
	}
	b.avail = min(burst, b.avail+now.Sub(b.last).Seconds()*rate)
	b.last = now
}

// wait blocks until n units may pass at rate per second, or until ctx or
// done ends. A new bucket starts empty, so a transfer never beats the rate
// over any span; up to 50 ms of credit is kept so that late wake-ups of a
// loaded machine do not lower the rate. A rate ≤ 0 never waits.
func (b *bucket) wait(ctx context.Context, done <-chan struct{}, n int, rate int64) bool {
	if rate <= 0 {
		return true
	}
	r := float64(rate)
	b.mu.Lock()
	b.refill(r, r/20, 0)
	b.avail -= float64(n)
	var d time.Duration
	if b.avail < 0 {
		d = time.Duration(-b.avail / r * float64(time.Second))
	}
	b.mu.Unlock()
	if d == 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-done:
	}
	return false
}

// allow takes one unit at rate per second (burst: one second's worth) and
// reports whether one was available; it never waits.
func (b *bucket) allow(rate float64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(rate, max(1, rate), max(1, rate))
	if b.avail < 1 {
		return false
	}
	b.avail--
	return true
}
