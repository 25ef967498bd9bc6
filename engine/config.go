package engine

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"provision/internal/netx"
)

// Defaults used for zero Config fields.
const (
	DefaultConnections = 16
	DefaultRetries     = 8
	DefaultIdleTimeout = 30 * time.Second
	DefaultUserAgent   = "provision"

	bufSize      = 256 << 10 // one pooled read buffer
	minAutoChunk = 8 << 20   // auto chunks are never smaller; smaller files are one request
	maxAutoChunk = 64 << 20
	defMinSplit  = 1 << 20
	defCommit    = 8 << 20
	maxRefreshes = 3
	max416       = 2 // spurious 416 answers tolerated per chunk
)

// Config tunes an Engine. The zero value is usable: every zero field takes
// the default named in its comment.
type Config struct {
	// Connections is the budget of concurrent requests shared by every
	// Fetch of the Engine (0 = DefaultConnections).
	Connections int

	// ChunkSize is the size of the ranges a file is cut into; files no
	// larger are fetched with one request. 0 picks it from the file size
	// and Connections (size/(4*Connections) within 8..64 MiB).
	ChunkSize int64

	// MinSplit is the smallest piece an idle connection leaves on either
	// side when it splits a running chunk (0 = 1 MiB).
	MinSplit int64

	// CommitEvery is how many written bytes of a running chunk make a
	// checkpoint Commit (0 = 8 MiB).
	CommitEvery int64

	// MaxRate caps the bytes per second of all connections together
	// (0 = unlimited, no limiter on the data path).
	MaxRate float64

	// Client sends the requests. nil builds a tuned HTTP/1.1 client. A
	// given client is copied; its CheckRedirect is set to netx.CheckRedirect
	// when nil. It must not decompress bodies.
	Client *http.Client

	// Retries is how many times one chunk is retried without progress
	// (0 = DefaultRetries, negative = never retry).
	Retries int

	// IdleTimeout aborts a request that receives no byte for this long
	// (0 = DefaultIdleTimeout). There is no overall deadline.
	IdleTimeout time.Duration

	// Backoff returns the delay before retry number attempt (from 1);
	// nil = DefaultBackoff. A Retry-After from the server wins when longer.
	Backoff func(attempt int) time.Duration

	// UserAgent is sent with every request ("" = DefaultUserAgent).
	UserAgent string
}

// Engine fetches Jobs. All its Fetch calls share one connection budget and
// one rate limit. It is safe for concurrent use; create it with New.
type Engine struct {
	cfg     Config
	client  *http.Client
	limiter *rate.Limiter // nil when unlimited
	readMax int           // bytes per read, never above the limiter's burst
	slots   chan struct{} // one token per connection in use
	hungry  atomic.Int32  // workers blocked on a slot with a chunk to fetch
	claimed atomic.Int32  // free slots running jobs planned pieces for
	bufs    chan *[]byte  // free read buffers, at most one per connection
	gates   gates         // hosts that asked for a pause

	fetched  atomic.Int64
	active   atomic.Int32
	requests atomic.Int64
	retries  atomic.Int64
}

// New returns an Engine for cfg, with defaults filled in.
func New(cfg Config) *Engine {
	if cfg.Connections <= 0 {
		cfg.Connections = DefaultConnections
	}
	switch {
	case cfg.Retries == 0:
		cfg.Retries = DefaultRetries
	case cfg.Retries < 0:
		cfg.Retries = 0
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.Backoff == nil {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	if cfg.MinSplit <= 0 {
		cfg.MinSplit = defMinSplit
	}
	if cfg.CommitEvery <= 0 {
		cfg.CommitEvery = defCommit
	}
	e := &Engine{cfg: cfg, readMax: bufSize, slots: make(chan struct{}, cfg.Connections),
		bufs: make(chan *[]byte, cfg.Connections)}
	if cfg.MaxRate > 0 {
		// Reads are sized to about 1/8 s of the rate so a slow cap stays smooth.
		e.readMax = int(min(max(cfg.MaxRate/8, 16<<10), bufSize))
		e.limiter = rate.NewLimiter(rate.Limit(cfg.MaxRate), e.readMax)
	}
	if cfg.Client != nil {
		c := *cfg.Client
		if c.CheckRedirect == nil {
			c.CheckRedirect = netx.CheckRedirect
		}
		e.client = &c
	} else {
		e.client = &http.Client{Transport: newTransport(cfg.Connections),
			CheckRedirect: netx.CheckRedirect}
	}
	return e
}

// newTransport is an HTTP/1.1-only transport: one TCP connection per
// stream, no transparent compression, enough idle connections kept per host
// for every slot to reuse one. MaxConnsPerHost caps dialing too: without it a
// request that waits for a dial takes a connection another request freed
// meanwhile, and the late dial is left over as one connection too many.
func newTransport(conns int) *http.Transport {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	var h1 http.Protocols
	h1.SetHTTP1(true)
	return &http.Transport{
		Protocols:             &h1,
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     false,
		TLSNextProto:          map[string]func(string, *tls.Conn) http.RoundTripper{},
		TLSHandshakeTimeout:   15 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		MaxIdleConns:          max(100, 2*conns),
		MaxIdleConnsPerHost:   max(conns, 2),
		MaxConnsPerHost:       conns,
		IdleConnTimeout:       90 * time.Second,
		ReadBufferSize:        64 << 10,
		WriteBufferSize:       4 << 10,
	}
}

// acquire takes a connection slot, waiting until one is free or ctx ends.
// hungry says the caller has a chunk waiting for the slot (not just the
// hope of splitting one); while such callers wait, nobody splits.
func (e *Engine) acquire(ctx context.Context, hungry bool) error {
	return e.acquireFor(ctx, hungry, nil)
}

// errJobOver is acquireFor's answer when the job it was waiting for has
// finished meanwhile.
var errJobOver = errors.New("job has no work left")

// acquireFor is acquire for a worker that waits only in the hope of work:
// it gives up with errJobOver as soon as over is closed, so a job whose
// last byte has landed does not wait for other jobs to free a slot.
func (e *Engine) acquireFor(ctx context.Context, hungry bool, over <-chan struct{}) error {
	select {
	case <-over:
		return errJobOver
	default:
	}
	select {
	case e.slots <- struct{}{}:
		return nil
	default:
	}
	if hungry {
		e.hungry.Add(1)
		defer e.hungry.Add(-1)
	}
	select {
	case e.slots <- struct{}{}:
		return nil
	case <-over:
		return errJobOver
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *Engine) release() { <-e.slots }

// getBuf returns a read buffer of bufSize bytes. Buffers are kept on a
// free list of one per connection rather than in a sync.Pool, which the
// GC empties: the same few buffers serve the whole run, so memory stays
// flat and no buffer is allocated per request.
func (e *Engine) getBuf() *[]byte {
	select {
	case b := <-e.bufs:
		return b
	default:
		b := make([]byte, bufSize)
		return &b
	}
}

// putBuf gives a buffer back to the free list (dropping it when full).
func (e *Engine) putBuf(b *[]byte) {
	select {
	case e.bufs <- b:
	default:
	}
}

// Stats is a snapshot of an Engine's totals over all jobs.
type Stats struct {
	Fetched  int64 // bytes received over the network since New
	Active   int   // requests streaming now
	Requests int64 // requests sent since New
	Retries  int64 // chunk retries since New
}

// Stats returns the Engine's totals; safe to call at any time.
func (e *Engine) Stats() Stats {
	return Stats{Fetched: e.fetched.Load(), Active: int(e.active.Load()),
		Requests: e.requests.Load(), Retries: e.retries.Load()}
}
