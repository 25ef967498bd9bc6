package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"provision/internal/netx"
	"provision/internal/span"
)

// Result describes a Fetch; after an error it holds the counts so far (and
// Size -1 for a stream of unknown size that did not end).
type Result struct {
	Size         int64 // the file's size: Job.Size, or the bytes of the stream when it was -1
	Fetched      int64 // bytes received over the network, counting any received twice
	Requests     int   // HTTP requests sent
	Retries      int   // chunk retries (refreshes not counted)
	Refreshes    int   // calls of Job.Refresh
	RangeIgnored bool  // the server ignored Range; the file came as one stream

	// ETag is the strong ETag of the data server's answers (empty when it
	// sent none): what a later resume passes as Job.IfMatch.
	ETag string
}

// jobState is one Fetch in progress.
type jobState struct {
	e *Engine
	j *Job

	mu        sync.Mutex
	queue     []*piece // planned, not started
	running   []*piece // taken by a worker
	rangeless bool
	size      int64 // -1 until a stream of unknown size ends
	url       string
	header    http.Header
	gen       int // bumped by every refresh
	refreshes int
	barren    int    // refreshes since bytes last arrived; bounded by maxRefreshes
	refreshAt int64  // fetched at the last refresh
	etag      string // the first strong ETag seen; every later one must match

	// over is closed once no piece is queued or running: the job's
	// workers waiting for a connection slot stop waiting.
	over     chan struct{}
	overOnce sync.Once

	refreshMu sync.Mutex // one refresh at a time
	fetched   atomic.Int64
	requests  atomic.Int64
	retries   atomic.Int64
}

// Fetch downloads the bytes of j that j.Have does not cover into j.Out and
// returns when all of them are written and committed, or on the first
// error that retries cannot cure. Every Commit covers bytes whose WriteAt
// returned; within a chunk Commits come in file order, one at least every
// CommitEvery bytes and one when the chunk ends or stops, so after any
// return (cancellation included) the committed ranges are exactly the
// bytes known to be written. Commit ranges never overlap each other or
// j.Have, except after a server ignored Range: the single stream from byte
// 0 then rewrites (with the same bytes) and commits ranges again.
//
// A job of unknown size (-1) is one request from byte 0; Have is ignored.
// Errors are *FetchError values naming j.Name and the byte range; their
// causes are *HTTPError, *ShortBodyError, the Err* sentinels, write and
// Commit errors, or ctx's error. Fetch is safe to call concurrently; all
// calls share the Engine's connections and rate limit.
func (e *Engine) Fetch(ctx context.Context, j *Job) (Result, error) {
	if j.Out == nil {
		return Result{}, &FetchError{Name: j.Name, Err: errors.New("job has no output")}
	}
	js := &jobState{e: e, j: j, size: j.Size, url: j.URL, header: j.Header, etag: j.IfMatch,
		over: make(chan struct{})}
	if j.Size < 0 {
		js.queue = []*piece{{end: unknownEnd, stream: true}}
	} else {
		js.queue = e.plan(j.Size, j.Have)
	}
	if pr := j.Progress; pr != nil {
		pr.size.Store(j.Size)
		pr.done.Store(0)
		if j.Size >= 0 {
			pr.done.Store(span.Normalize(j.Have).Total())
		}
	}

	if len(js.queue) > 0 {
		n := e.workers(js.queue)
		// Connections nobody else wants now get their own piece from the
		// start, rather than splitting a request that is already streaming.
		k := e.reserveIdle(n)
		defer e.claimed.Add(int32(-k))
		js.queue = e.stagger(e.presplit(js.queue, k), k)
		g, gctx := errgroup.WithContext(ctx)
		for range n {
			g.Go(func() error { return js.work(gctx) })
		}
		if err := g.Wait(); err != nil {
			if ctx.Err() != nil {
				err = &FetchError{Name: j.Name, Err: ctx.Err()}
			}
			return js.result(), err
		}
	}
	if ctx.Err() != nil {
		return js.result(), &FetchError{Name: j.Name, Err: ctx.Err()}
	}
	return js.result(), nil
}

func (js *jobState) result() Result {
	js.mu.Lock()
	defer js.mu.Unlock()
	return Result{Size: js.size, Fetched: js.fetched.Load(),
		Requests: int(js.requests.Load()), Retries: int(js.retries.Load()),
		Refreshes: js.refreshes, RangeIgnored: js.rangeless, ETag: js.etag}
}

// work is one worker: it takes a connection slot and a piece, fetches the
// piece, and repeats until the job has nothing left for it.
func (js *jobState) work(ctx context.Context) error {
	for {
		if err := js.e.acquireFor(ctx, js.queued(), js.over); err != nil {
			if errors.Is(err, errJobOver) {
				return nil
			}
			return err
		}
		p, later := js.take()
		if p == nil {
			// Give the slot to a waiting chunk; come back to split after it.
			js.e.release()
			if later {
				continue
			}
			return nil
		}
		if err := js.runPiece(ctx, p); err != nil {
			return err
		}
	}
}

// runPiece fetches p, retrying what Retryable allows. It is entered
// holding a connection slot and always releases it; while it waits (a
// backoff, a throttled host) the slot is given back for other work.
func (js *jobState) runPiece(ctx context.Context, p *piece) (err error) {
	e := js.e
	held := true
	defer func() {
		if held {
			e.release()
		}
		js.finish(p)
		if err != nil && ctx.Err() == nil {
			js.mu.Lock()
			err = &FetchError{Name: js.j.Name, Range: p.rng(), Err: err}
			js.mu.Unlock()
		}
	}()

	var rs retryState
	for {
		// A host that asked for a pause is waited for without a slot, and
		// checked again once a slot is back: it may have asked again.
		for d := e.gates.wait(js.host()); d > 0; d = e.gates.wait(js.host()) {
			e.release()
			held = false
			if err := netx.Sleep(ctx, d); err != nil {
				return err
			}
			if err := e.acquire(ctx, true); err != nil {
				return err
			}
			held = true
		}

		js.mu.Lock()
		before := p.pos
		js.mu.Unlock()
		err := js.attempt(ctx, p)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		delay, err := js.retry(ctx, p, &rs, before, err)
		if err != nil {
			return err
		}
		if delay < 0 {
			continue // the URL was refreshed: ask again at once
		}

		e.retries.Add(1)
		js.retries.Add(1)
		e.release()
		held = false
		if err := netx.Sleep(ctx, delay); err != nil {
			return err
		}
		if err := e.acquire(ctx, true); err != nil {
			return err
		}
		held = true
	}
}

// retryState counts one piece's failures.
type retryState struct {
	attempts  int // failures since an attempt last moved the piece by progressMin
	n416      int // 416 answers
	throttled int // 429/503 answers with Retry-After
}

// retry decides what follows a failed attempt on p that started at byte
// before: the final error, a delay before the next attempt, or a negative
// delay when the next attempt may go at once.
func (js *jobState) retry(ctx context.Context, p *piece, rs *retryState, before int64,
	err error) (time.Duration, error) {
	e := js.e
	var he *HTTPError
	isHTTP := errors.As(err, &he)
	switch {
	case isHTTP && (he.Status == http.StatusForbidden || he.Status == http.StatusGone) &&
		js.j.Refresh != nil:
		switch rerr := js.refresh(ctx, p); {
		case errors.Is(rerr, errSameURL):
			// Nothing new to try but time: a 403 may pass (an error page
			// served once), within the refresh bound.
			return e.cfg.Backoff(1), nil
		case rerr != nil:
			return 0, fmt.Errorf("%w: %w", rerr, err)
		}
		return -1, nil
	case !Retryable(err):
		return 0, err
	case isHTTP && he.Status == http.StatusRequestedRangeNotSatisfiable:
		if rs.n416++; rs.n416 > max416 {
			return 0, err
		}
	case isHTTP && he.RetryAfter > 0:
		// The server said when to come back; that is not a failure of this
		// piece. A 429 speaks for the whole host, so every request to it
		// waits; a 503 may only refuse one connection too many (servers
		// capping connections answer so), so only this piece waits.
		if rs.throttled++; rs.throttled > maxThrottled {
			return 0, fmt.Errorf("still throttled after %d answers: %w", rs.throttled-1, err)
		}
		if he.Status == http.StatusTooManyRequests {
			e.gates.hold(js.host(), he.RetryAfter)
			return 0, nil
		}
		return he.RetryAfter, nil
	}

	js.mu.Lock()
	moved := p.pos > before && !js.rangeless
	progressed := p.pos-before >= progressMin(p) && !js.rangeless
	received, expected := p.pos-p.start, p.end-p.start
	if p.end == unknownEnd {
		expected = -1
	}
	if js.rangeless && p.stream {
		// A server that ignores Range can only start again from byte 0.
		p.pos = 0
	}
	js.mu.Unlock()
	if progressed {
		rs.attempts = 0
	}
	if rs.attempts++; rs.attempts > e.cfg.Retries {
		var sb *ShortBodyError
		if errors.As(err, &sb) && expected > 0 {
			err = &ShortBodyError{Expected: expected, Received: received, Err: sb.Err}
		}
		err = fmt.Errorf("gave up after %d attempts: %w", rs.attempts, err)
		if js.isRangeless() {
			err = fmt.Errorf("%w and the stream from byte 0 failed: %w", ErrRangeIgnored, err)
		}
		return 0, err
	}
	if moved {
		// The connection dropped after delivering bytes: the server was
		// serving, the path just broke; ask again at once.
		return 0, nil
	}
	return e.cfg.Backoff(rs.attempts), nil
}

// minProgress is how many bytes one failed attempt must add to its piece
// to start the piece's attempt count over (see progressMin).
const minProgress = 64 << 10

// progressMin is the progress that makes a failed attempt on p count as
// progress: minProgress, or 1% of the piece when that is less (at least one
// byte). A connection that keeps dropping after such progress is asked
// again for as long as it takes; one that sends less each time (a byte,
// then a drop) is given up after Config.Retries attempts. Every reset needs
// that many new bytes, so the attempts on one piece stay bounded by its size.
func progressMin(p *piece) int64 {
	if p.end == unknownEnd {
		return minProgress
	}
	return max(1, min(minProgress, (p.end-p.start)/100))
}

// host returns the host the job's requests go to first.
func (js *jobState) host() string {
	js.mu.Lock()
	raw := js.url
	js.mu.Unlock()
	if u, err := url.Parse(raw); err == nil {
		return u.Host
	}
	return ""
}

func (js *jobState) isRangeless() bool {
	js.mu.Lock()
	defer js.mu.Unlock()
	return js.rangeless
}

// refresh asks Job.Refresh for a new URL after the one p used was refused.
// Workers refused the same URL share one refresh; after maxRefreshes in a
// row that brought no bytes it returns ErrRefreshLimit (a long download may
// outlive any number of URLs).
func (js *jobState) refresh(ctx context.Context, p *piece) error {
	js.refreshMu.Lock()
	defer js.refreshMu.Unlock()
	js.mu.Lock()
	if n := js.fetched.Load(); n > js.refreshAt {
		js.barren, js.refreshAt = 0, n
	}
	stale, count := p.gen != js.gen, js.barren
	js.mu.Unlock()
	if stale {
		return nil // another worker already refreshed this URL
	}
	if count >= maxRefreshes {
		return fmt.Errorf("%w (%d refreshes)", ErrRefreshLimit, count)
	}
	u, h, err := js.j.Refresh(ctx)
	js.mu.Lock()
	defer js.mu.Unlock()
	js.refreshes++
	js.barren++
	if err != nil {
		return fmt.Errorf("refresh url: %w", err)
	}
	if u == js.url && maps.EqualFunc(h, js.header, slices.Equal) {
		return errSameURL
	}
	js.url, js.header = u, h
	js.gen++
	return nil
}

// errSameURL: the refresh gave back the URL that was refused; the next try
// waits a backoff instead of going at once.
var errSameURL = errors.New("refresh gave the same url")
