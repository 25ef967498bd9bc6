package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"provision/internal/span"
)

// copyBody writes body, whose first byte is file offset at and which ends
// at end (exclusive, unknownEnd when unknown), into the output. It claims
// the bytes of p before writing them, so it stops where a split or the
// switch to one stream moved p's end. Written bytes are committed every
// CommitEvery bytes and when it returns, whatever the reason. rctx is the
// request's context, ctx the job's.
func (js *jobState) copyBody(rctx, ctx context.Context, p *piece, body io.Reader,
	at, end int64, wd *watchdog) (err error) {
	e := js.e
	bp := e.getBuf()
	defer e.putBuf(bp)
	buf := (*bp)[:e.readMax]

	pos, mark := at, at // mark: first byte not yet committed
	defer func() {
		if pos > mark {
			if cerr := js.commit(mark, pos); cerr != nil && err == nil {
				err = cerr
			}
		}
	}()
	for {
		js.mu.Lock()
		lim := min(p.end, end)
		js.mu.Unlock()
		if pos >= lim {
			return js.endBody(p, body, buf, pos, end)
		}

		// A read never crosses the next checkpoint, so commits fall exactly
		// every CommitEvery bytes.
		want := min(int64(len(buf)), lim-pos, mark+e.cfg.CommitEvery-pos)
		n, rerr := js.fill(rctx, body, buf[:want], wd)

		// Claim what was read; a split may have moved p's end meanwhile.
		js.mu.Lock()
		take := max(0, min(int64(n), p.end-pos))
		p.pos = max(p.pos, pos+take)
		js.mu.Unlock()
		if take > 0 {
			if _, werr := js.j.Out.WriteAt(buf[:take], pos); werr != nil {
				return fmt.Errorf("write at offset %d: %w", pos, werr)
			}
			pos += take
			js.addDone(p, take, pos)
			if pos-mark >= e.cfg.CommitEvery {
				from := mark
				mark = pos
				if cerr := js.commit(from, pos); cerr != nil {
					return cerr
				}
			}
		}

		if rerr == nil {
			continue
		}
		if errors.Is(rerr, io.EOF) && end == unknownEnd {
			js.endStream(p, pos)
			return nil
		}
		js.mu.Lock()
		lim = min(p.end, end)
		js.mu.Unlock()
		if pos >= lim {
			continue // all that was wanted arrived; endBody decides
		}
		if errors.Is(rerr, io.EOF) {
			rerr = io.ErrUnexpectedEOF
		} else {
			rerr = &netError{rerr}
		}
		if rerr = js.readErr(ctx, p, wd, rerr); rerr == nil {
			return nil
		}
		expected := end - at
		if end == unknownEnd {
			expected = -1
		}
		return &ShortBodyError{Expected: expected, Received: pos - at, Err: rerr}
	}
}

// endBody runs when the wanted bytes of a body arrived. When the body was
// consumed to its planned end it checks that nothing follows, which also
// lets the connection be reused; a body cut short by a split is dropped.
func (js *jobState) endBody(p *piece, body io.Reader, buf []byte, pos, end int64) error {
	js.mu.Lock()
	split := p.end < end
	js.mu.Unlock()
	if split {
		return nil
	}
	n, err := body.Read(buf[:1])
	if n > 0 {
		js.mu.Lock()
		whole := end == js.size || js.j.Size < 0
		js.mu.Unlock()
		if whole {
			return fmt.Errorf("%w: body continues past byte %d", ErrSizeChanged, pos)
		}
		return fmt.Errorf("%w: body continues past byte %d", ErrContentRange, pos)
	}
	_ = err // EOF, or a failure after the last byte that changes nothing
	if js.j.Size < 0 {
		js.endStream(p, pos)
	}
	return nil
}

// endStream records the end of a stream of unknown size at n bytes.
func (js *jobState) endStream(p *piece, n int64) {
	js.mu.Lock()
	p.end = n
	js.mu.Unlock()
	js.setSize(n)
}

// fill reads into buf until it is full, holds at least minFill bytes, a
// trickle has been collected for maxFillWait, or the body fails. It counts
// bytes as they land and paces them through the rate limiter.
func (js *jobState) fill(ctx context.Context, body io.Reader, buf []byte,
	wd *watchdog) (int, error) {
	e := js.e
	pr := js.j.Progress
	n := 0
	began := time.Now()
	for n < len(buf) && n < minFill && (n == 0 || time.Since(began) < maxFillWait) {
		m, err := body.Read(buf[n:])
		if m > 0 {
			n += m
			wd.touch()
			e.fetched.Add(int64(m))
			js.fetched.Add(int64(m))
			if pr != nil {
				pr.fetched.Add(int64(m))
			}
			if e.limiter != nil {
				wd.pause() // waiting on our own limiter is not a stalled server
				werr := e.limiter.WaitN(ctx, m)
				wd.touch()
				if werr != nil {
					return n, werr
				}
			}
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// addDone counts take bytes written ending at pos in the job's progress.
func (js *jobState) addDone(p *piece, take, pos int64) {
	pr := js.j.Progress
	if pr == nil {
		return
	}
	if !p.stream {
		pr.done.Add(take)
		return
	}
	// A stream rewrites from byte 0 what earlier chunks may have written.
	for {
		old := pr.done.Load()
		if old >= pos || pr.done.CompareAndSwap(old, pos) {
			return
		}
	}
}

// commit hands [from, to) to the output's Commit.
func (js *jobState) commit(from, to int64) error {
	r := span.Range{Start: from, End: to}
	if err := js.j.Out.Commit(r); err != nil {
		return fmt.Errorf("commit bytes %s: %w", r, err)
	}
	return nil
}

// readErr turns a transport or body error into the cause Fetch reports: the
// job's own cancellation, nil when p was stopped on purpose (its request is
// cancelled then), ErrIdleTimeout when the watchdog fired, else err.
func (js *jobState) readErr(ctx context.Context, p *piece, wd *watchdog, err error) error {
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case js.stopped(p):
		return nil
	case wd.fired.Load():
		return ErrIdleTimeout
	}
	return err
}

// A read buffer is written out once it holds minFill bytes (fewer, larger
// writes) or after maxFillWait, so a trickle still reaches the disk.
const (
	minFill     = 64 << 10
	maxFillWait = 250 * time.Millisecond
)

// paused marks a watchdog that is not counting idle time.
const paused = math.MaxInt64

// A watchdog cancels a request that receives no byte for idle, with no
// overall deadline: each byte that lands restarts the count.
type watchdog struct {
	idle   time.Duration
	cancel context.CancelFunc
	last   atomic.Int64 // nanotime of the last byte, or paused
	fired  atomic.Bool

	mu      sync.Mutex
	t       *time.Timer
	stopped bool
}

func newWatchdog(idle time.Duration, cancel context.CancelFunc) *watchdog {
	w := &watchdog{idle: idle, cancel: cancel}
	w.touch()
	w.mu.Lock()
	w.t = time.AfterFunc(idle, w.check)
	w.mu.Unlock()
	return w
}

// epoch anchors the watchdog's monotonic clock.
var epoch = time.Now()

func nanotime() int64 { return int64(time.Since(epoch)) }

func (w *watchdog) touch() { w.last.Store(nanotime()) }
func (w *watchdog) pause() { w.last.Store(paused) }

// check runs when the timer fires: it cancels the request if the last byte
// is older than idle, and otherwise sleeps until it would be.
func (w *watchdog) check() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	wait := w.idle
	if last := w.last.Load(); last != paused {
		since := time.Duration(nanotime() - last)
		if since >= w.idle {
			w.fired.Store(true)
			w.cancel()
			return
		}
		wait = w.idle - since
	}
	w.t.Reset(wait)
}

func (w *watchdog) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	w.t.Stop()
}
