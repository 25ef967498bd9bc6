package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"provision/internal/span"
)

// content returns n deterministic bytes that differ at every offset, so a
// byte written at the wrong place changes the digest.
func content(n int64) []byte {
	b := make([]byte, n)
	var x uint32 = 2166136261
	for i := range b {
		x = x*16777619 ^ uint32(i)
		b[i] = byte(x >> 13)
	}
	return b
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// fault is what the test server does to one request instead of serving it
// plainly. The zero value serves the request correctly.
type fault struct {
	status      int               // answer with this status and body instead
	header      map[string]string // extra headers
	body        string
	ignoreRange bool          // answer 200 with the whole file
	cut         int64         // send only this many body bytes, then close (-1 = all)
	stall       bool          // after cut bytes, keep the connection open and silent
	rate        int64         // bytes per second, 0 = as fast as possible
	delay       time.Duration // before the headers
	noLength    bool          // no Content-Length: a chunked body
	etag        string        // ETag header of a served answer
}

// request is one request the server saw.
type request struct {
	n      int
	rng    string // the Range header as sent, "" when none
	served span.Range
	header http.Header
}

// testServer serves one file with Range support, records every request,
// measures requests in flight and injects faults chosen by hook.
type testServer struct {
	*httptest.Server
	t    *testing.T
	data []byte
	hook func(n int, r *http.Request) fault // nil = no faults

	mu       sync.Mutex
	reqs     []request
	count    int
	inflight atomic.Int32
	peak     atomic.Int32
	conns    atomic.Int32 // TCP connections accepted
}

func newServer(t *testing.T, data []byte, hook func(int, *http.Request) fault) *testServer {
	s := &testServer{t: t, data: data, hook: hook}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func (s *testServer) url() string { return s.URL + "/files/model.safetensors?sig=secret" }

func (s *testServer) requests() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]request(nil), s.reqs...)
}

func (s *testServer) serve(w http.ResponseWriter, r *http.Request) {
	in := s.inflight.Add(1)
	for {
		p := s.peak.Load()
		if in <= p || s.peak.CompareAndSwap(p, in) {
			break
		}
	}
	decremented := false
	leave := func() {
		if !decremented {
			decremented = true
			s.inflight.Add(-1)
		}
	}
	defer leave()

	s.mu.Lock()
	n := s.count
	s.count++
	s.mu.Unlock()
	f := fault{cut: -1}
	if s.hook != nil {
		f = s.hook(n, r)
	}
	size := int64(len(s.data))
	if r.Header.Get("Accept-Encoding") != "identity" {
		s.t.Errorf("request %d: Accept-Encoding %q", n, r.Header.Get("Accept-Encoding"))
	}
	if f.delay > 0 {
		time.Sleep(f.delay)
	}
	record := func(served span.Range) {
		s.mu.Lock()
		s.reqs = append(s.reqs, request{n: n, rng: r.Header.Get("Range"), served: served,
			header: r.Header.Clone()})
		s.mu.Unlock()
	}
	if f.status != 0 {
		record(span.Range{})
		for k, v := range f.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(f.status)
		io.WriteString(w, f.body)
		return
	}

	start, end, status := int64(0), size, http.StatusOK
	if h := r.Header.Get("Range"); h != "" && !f.ignoreRange {
		var err error
		start, end, err = parseRangeHeader(h, size)
		if err != nil {
			s.t.Errorf("request %d: %v", n, err)
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", size))
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		status = http.StatusPartialContent
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end-1, size))
	}
	record(span.Range{Start: start, End: end})
	w.Header().Set("Content-Type", "application/octet-stream")
	if f.etag != "" {
		w.Header().Set("ETag", f.etag)
	}
	for k, v := range f.header {
		w.Header().Set(k, v)
	}
	if !f.noLength {
		w.Header().Set("Content-Length", strconv.FormatInt(end-start, 10))
	}
	w.WriteHeader(status)

	body := s.data[start:end]
	if f.cut >= 0 && f.cut < int64(len(body)) {
		body = body[:f.cut]
		w.Write(body)
		if f.stall {
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-time.After(20 * time.Second):
			}
		}
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // drop the connection, even for a chunked body
	}
	if f.rate > 0 {
		step := max(f.rate/20, 1)
		for len(body) > 0 {
			k := min(int64(len(body)), step)
			if _, err := w.Write(body[:k]); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			body = body[k:]
			time.Sleep(50 * time.Millisecond)
		}
		return
	}
	// Leave the in-flight count before the last byte, so a client that has
	// read everything can never see this request still counted.
	if len(body) > 0 {
		w.Write(body[:len(body)-1])
		leave()
		w.Write(body[len(body)-1:])
	}
}

// parseRangeHeader accepts exactly "bytes=a-b" or "bytes=a-" inside the file.
func parseRangeHeader(h string, size int64) (int64, int64, error) {
	spec, ok := strings.CutPrefix(h, "bytes=")
	as, bs, ok2 := strings.Cut(spec, "-")
	if !ok || !ok2 || strings.Contains(spec, ",") {
		return 0, 0, fmt.Errorf("malformed range %q", h)
	}
	a, err := strconv.ParseInt(as, 10, 64)
	if err != nil || a < 0 || a >= size {
		return 0, 0, fmt.Errorf("range %q start outside 0..%d", h, size-1)
	}
	b := size - 1
	if bs != "" {
		if b, err = strconv.ParseInt(bs, 10, 64); err != nil || b < a || b >= size {
			return 0, 0, fmt.Errorf("range %q end outside %d..%d", h, a, size-1)
		}
	}
	return a, b + 1, nil
}

// memOut is an Output in memory that checks the engine's promises: writes
// inside the file and never twice to the same byte (unless allowed),
// commits only of written bytes.
type memOut struct {
	t          *testing.T
	mu         sync.Mutex
	data       []byte
	written    span.Set
	commits    []span.Range
	overlapOK  bool
	overlapped bool
	failAt     int64 // WriteAt at or past this offset fails (0 = never)
}

func newOut(t *testing.T, size int64) *memOut {
	return &memOut{t: t, data: make([]byte, max(size, 0))}
}

func (o *memOut) WriteAt(b []byte, off int64) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.failAt > 0 && off+int64(len(b)) > o.failAt {
		return 0, fmt.Errorf("write %d: no space left on device", off)
	}
	end := off + int64(len(b))
	if end > int64(len(o.data)) {
		o.data = append(o.data, make([]byte, end-int64(len(o.data)))...)
	}
	r := span.Range{Start: off, End: end}
	for _, w := range o.written {
		if w.Start < r.End && r.Start < w.End {
			o.overlapped = true
			if !o.overlapOK {
				o.t.Errorf("write %v overlaps written %v", r, w)
			}
		}
	}
	copy(o.data[off:], b)
	o.written = o.written.Add(r)
	return len(b), nil
}

func (o *memOut) Commit(r span.Range) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, m := range o.written.Missing(r.End) {
		if m.Start < r.End && r.Start < m.End {
			o.t.Errorf("commit %v of bytes not written (%v missing)", r, m)
		}
	}
	o.commits = append(o.commits, r)
	return nil
}

func (o *memOut) bytes() []byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]byte(nil), o.data...)
}

func (o *memOut) committed() span.Set {
	o.mu.Lock()
	defer o.mu.Unlock()
	return span.Normalize(o.commits)
}

// fast is a Config for tests: quick retries, a short idle timeout.
func fast(c Config) Config {
	if c.Backoff == nil {
		c.Backoff = func(int) time.Duration { return time.Millisecond }
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 2 * time.Second
	}
	return c
}
