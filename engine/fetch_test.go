package engine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"provision/internal/span"
)

const testC = 64 << 10 // chunk size used by most tests

// fetchAll runs one job of data from s and checks the written bytes.
func fetchAll(t *testing.T, e *Engine, s *testServer, data []byte, have span.Set,
	out *memOut) Result {
	t.Helper()
	pr := &Progress{}
	j := &Job{Name: "lora/detail.safetensors", URL: s.url(), Size: int64(len(data)),
		Have: have, Out: out, Progress: pr}
	res, err := e.Fetch(context.Background(), j)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if got, want := digest(out.bytes()), digest(data); got != want {
		t.Fatalf("sha256 %s, want %s", got, want)
	}
	if res.Size != int64(len(data)) || pr.Size() != int64(len(data)) ||
		pr.Done() != int64(len(data)) {
		t.Fatalf("size %d, progress %d/%d, want %d", res.Size, pr.Done(), pr.Size(), len(data))
	}
	if pr.Conns() != 0 {
		t.Fatalf("%d connections still counted", pr.Conns())
	}
	got := out.committed()
	for _, h := range have {
		got = got.Add(h)
	}
	if !got.Covers(int64(len(data))) {
		t.Fatalf("committed %v, want all of 0-%d", got, len(data)-1)
	}
	return res
}

// assertCovered checks that the served ranges cover want exactly once.
func assertCovered(t *testing.T, reqs []request, want []span.Range) {
	t.Helper()
	var got []span.Range
	for _, r := range reqs {
		if r.served.Len() > 0 {
			got = append(got, r.served)
		}
	}
	sort.Slice(got, func(i, j int) bool { return got[i].Start < got[j].Start })
	if fmt.Sprint(span.Normalize(got)) != fmt.Sprint(span.Normalize(want)) {
		t.Fatalf("served %v, want %v", got, want)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Start < got[i-1].End {
			t.Fatalf("ranges %v and %v overlap", got[i-1], got[i])
		}
	}
}

// TestRangeArithmetic is CASES.md C14: every size around the chunk size,
// eight workers, every Range checked by the server, covered exactly once.
func TestRangeArithmetic(t *testing.T) {
	for _, size := range []int64{0, 1, testC - 1, testC, testC + 1, 7*testC + 3} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			data := content(size)
			s := newServer(t, data, nil)
			e := New(fast(Config{Connections: 8, ChunkSize: testC}))
			out := newOut(t, size)
			res := fetchAll(t, e, s, data, nil, out)
			reqs := s.requests()
			wantReqs := int((size + testC - 1) / testC)
			if len(reqs) != wantReqs || res.Requests != wantReqs || res.Fetched != size {
				t.Fatalf("%d requests (result %d), fetched %d; want %d requests, %d bytes",
					len(reqs), res.Requests, res.Fetched, wantReqs, size)
			}
			if size <= testC && size > 0 && reqs[0].rng != "" {
				t.Fatalf("a one-request file was asked with Range %q", reqs[0].rng)
			}
			assertCovered(t, reqs, []span.Range{{Start: 0, End: size}})
		})
	}
}

// TestHave asks only for the bytes Have lacks and commits only those.
func TestHave(t *testing.T) {
	size := int64(10*testC + 7)
	data := content(size)
	have := span.Set{{Start: 0, End: 2 * testC}, {Start: 5 * testC, End: 6*testC + 100}}
	s := newServer(t, data, nil)
	out := newOut(t, size)
	for _, h := range have {
		copy(out.data[h.Start:h.End], data[h.Start:h.End])
	}
	e := New(fast(Config{Connections: 4, ChunkSize: testC}))
	res := fetchAll(t, e, s, data, have, out)
	missing := have.Missing(size)
	assertCovered(t, s.requests(), missing)
	if res.Fetched != span.Normalize(missing).Total() {
		t.Fatalf("fetched %d bytes, want %d", res.Fetched, span.Normalize(missing).Total())
	}
	for _, c := range out.commits {
		for _, h := range have {
			if c.Start < h.End && h.Start < c.End {
				t.Fatalf("commit %v overlaps what was there (%v)", c, h)
			}
		}
	}
}

// TestCheckpoints commits inside a long chunk, in order, at CommitEvery.
func TestCheckpoints(t *testing.T) {
	size := int64(3<<20 + 5)
	data := content(size)
	s := newServer(t, data, nil)
	e := New(fast(Config{Connections: 1, ChunkSize: size, CommitEvery: 1 << 20}))
	out := newOut(t, size)
	fetchAll(t, e, s, data, nil, out)
	want := []span.Range{{Start: 0, End: 1 << 20}, {Start: 1 << 20, End: 2 << 20},
		{Start: 2 << 20, End: 3 << 20}, {Start: 3 << 20, End: size}}
	if fmt.Sprint(out.commits) != fmt.Sprint(want) {
		t.Fatalf("commits %v, want %v", out.commits, want)
	}
}

// TestSplitTail: idle connections split a running chunk, and no byte is
// written twice.
func TestSplitTail(t *testing.T) {
	size := int64(4<<20 + 3)
	data := content(size)
	// The first request is held until a split piece is asked for, so the
	// running request must stop at the boundary the split set.
	split := make(chan struct{})
	var once sync.Once
	s := newServer(t, data, func(n int, r *http.Request) fault {
		if n == 0 {
			select {
			case <-split:
			case <-time.After(10 * time.Second):
			}
		} else {
			once.Do(func() { close(split) })
		}
		return fault{cut: -1}
	})
	e := New(fast(Config{Connections: 4, ChunkSize: size, MinSplit: 256 << 10}))
	out := newOut(t, size)
	fetchAll(t, e, s, data, nil, out)
	if n := len(s.requests()); n < 2 {
		t.Fatalf("%d requests: the chunk was never split", n)
	}
}

// TestPresplit: a job that starts on an idle Engine gets a piece per
// connection it can use from the start, so no streaming request is cut.
func TestPresplit(t *testing.T) {
	size := int64(16 << 20)
	data := content(size)
	s := newServer(t, data, nil)
	e := New(fast(Config{Connections: 4, ChunkSize: size, MinSplit: 4 << 20}))
	fetchAll(t, e, s, data, nil, newOut(t, size))
	reqs := s.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	assertCovered(t, reqs, []span.Range{{Start: 0, End: size}})
}

// TestSharedBudget: concurrent Fetch calls never have more requests in
// flight than Connections, as the server counts them.
func TestSharedBudget(t *testing.T) {
	const conns = 3
	size := int64(4*testC + 1)
	data := content(size)
	s := newServer(t, data, func(int, *http.Request) fault {
		return fault{cut: -1, delay: 10 * time.Millisecond}
	})
	e := New(fast(Config{Connections: conns, ChunkSize: testC}))
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			out := newOut(t, size)
			j := &Job{Name: fmt.Sprintf("f%d.bin", i), URL: s.url(), Size: size, Out: out}
			if _, err := e.Fetch(context.Background(), j); err != nil {
				t.Errorf("Fetch %d: %v", i, err)
				return
			}
			if digest(out.bytes()) != digest(data) {
				t.Errorf("job %d: wrong bytes", i)
			}
		})
	}
	wg.Wait()
	if p := s.peak.Load(); p > conns || p < 2 {
		t.Fatalf("peak of %d requests in flight, want 2..%d", p, conns)
	}
	if st := e.Stats(); st.Requests != 6*5 || st.Active != 0 || st.Fetched != 6*size {
		t.Fatalf("stats %+v", st)
	}
}

// TestKeepAlive: chunks reuse the budget's connections instead of dialing
// one per request.
func TestKeepAlive(t *testing.T) {
	size := int64(12*testC + 1)
	data := content(size)
	s := newServer(t, data, nil)
	fetchAll(t, New(fast(Config{Connections: 2, ChunkSize: testC})), s, data, nil,
		newOut(t, size))
	if n := s.conns.Load(); n > 2 {
		t.Fatalf("%d connections for 13 requests over 2 slots", n)
	}
}

// TestRedirectScopesHeaders: the job's headers reach the URL's host only.
func TestRedirectScopesHeaders(t *testing.T) {
	size := int64(3*testC + 1)
	data := content(size)
	cdn := newServer(t, data, nil)
	var mu sync.Mutex
	var first []http.Header
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		first = append(first, r.Header.Clone())
		mu.Unlock()
		http.Redirect(w, r, cdn.url(), http.StatusFound)
	}))
	defer hub.Close()
	out := newOut(t, size)
	j := &Job{Name: "vae/x.safetensors", URL: hub.URL + "/resolve/x", Size: size, Out: out,
		Header: http.Header{"X-Api-Key": {"k"}, "Authorization": {"Bearer t"}}}
	e := New(fast(Config{Connections: 2, ChunkSize: testC}))
	if _, err := e.Fetch(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	if digest(out.bytes()) != digest(data) {
		t.Fatal("wrong bytes")
	}
	for _, h := range first {
		if h.Get("X-Api-Key") != "k" || h.Get("Authorization") != "Bearer t" {
			t.Fatalf("first host did not get the headers: %v", h)
		}
	}
	for _, r := range cdn.requests() {
		if r.header.Get("X-Api-Key") != "" || r.header.Get("Authorization") != "" {
			t.Fatalf("headers leaked to the redirect host: %v", r.header)
		}
		if r.rng == "" {
			t.Fatal("Range lost on the redirect")
		}
	}
}

// TestCancel: cancelling stops promptly with ctx's error, and every written
// byte was committed.
func TestCancel(t *testing.T) {
	size := int64(1 << 20)
	data := content(size)
	s := newServer(t, data, func(int, *http.Request) fault {
		return fault{cut: -1, rate: 64 << 10}
	})
	e := New(fast(Config{Connections: 4, ChunkSize: 256 << 10}))
	out := newOut(t, size)
	pr := &Progress{}
	ctx, cancel := context.WithCancel(context.Background())
	j := &Job{Name: "x.bin", URL: s.url(), Size: size, Out: out, Progress: pr}
	done := make(chan error, 1)
	go func() { _, err := e.Fetch(ctx, j); done <- err }()
	for pr.Done() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) || err.Error() != "fetch x.bin: context canceled" {
		t.Fatalf("err = %v", err)
	}
	out.mu.Lock()
	written := out.written
	out.mu.Unlock()
	if fmt.Sprint(out.committed()) != fmt.Sprint(written) {
		t.Fatalf("committed %v, written %v", out.committed(), written)
	}
	got := out.bytes()
	for _, r := range written {
		if digest(got[r.Start:r.End]) != digest(data[r.Start:r.End]) {
			t.Fatalf("bytes %v wrong", r)
		}
	}
	if st := e.Stats(); st.Active != 0 {
		t.Fatalf("%d requests still active", st.Active)
	}
}

// TestHTTP1Only: the default transport speaks HTTP/1.1 even to a server
// that offers HTTP/2, so parallel ranges get their own TCP connections.
func TestHTTP1Only(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter,
		r *http.Request) {
		w.Write([]byte(r.Proto))
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	tr := newTransport(4)
	tr.TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig
	resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 1 {
		t.Fatalf("spoke %s", resp.Proto)
	}
	ctl := srv.Client()
	resp2, err := ctl.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.ProtoMajor != 2 {
		t.Fatalf("the test server does not offer HTTP/2 (%s)", resp2.Proto)
	}
}
