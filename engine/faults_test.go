package engine

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"provision/internal/span"
)

// rangeStart returns where r's Range starts (0 without one).
func rangeStart(r *http.Request, size int64) (int64, int64) {
	if h := r.Header.Get("Range"); h != "" {
		a, b, err := parseRangeHeader(h, size)
		if err == nil {
			return a, b
		}
	}
	return 0, size
}

// once returns a hook that applies f to the first request whose Range
// starts at one of starts (any start when starts is empty), once per start.
func once(size int64, f func(a, b int64) fault, starts ...int64) func(int, *http.Request) fault {
	var mu sync.Mutex
	seen := map[int64]bool{}
	return func(_ int, r *http.Request) fault {
		a, b := rangeStart(r, size)
		mu.Lock()
		defer mu.Unlock()
		match := len(starts) == 0
		for _, s := range starts {
			match = match || s == a
		}
		if !match || seen[a] {
			return fault{cut: -1}
		}
		seen[a] = true
		return f(a, b)
	}
}

func newJob(s *testServer, size int64, out *memOut) *Job {
	return &Job{Name: "lora/detail.safetensors", URL: s.url(), Size: size, Out: out}
}

// TestShortBody is CASES.md C2: every chunk first sends half and closes;
// the retries continue from the last written byte.
func TestShortBody(t *testing.T) {
	size := int64(8*testC + 5)
	data := content(size)
	s := newServer(t, data, once(size, func(a, b int64) fault {
		return fault{cut: (b - a) / 2}
	}, 0, testC, 2*testC, 3*testC, 4*testC, 5*testC, 6*testC, 7*testC, 8*testC))
	e := New(fast(Config{Connections: 8, ChunkSize: testC}))
	res := fetchAll(t, e, s, data, nil, newOut(t, size))
	if res.Fetched != size {
		t.Fatalf("fetched %d bytes for a %d-byte file: bytes fetched twice", res.Fetched, size)
	}
	starts := map[int64][]int64{}
	for _, r := range s.requests() {
		c := r.served.Start / testC
		starts[c] = append(starts[c], r.served.Start)
	}
	for c, got := range starts {
		half := min(testC, size-c*testC) / 2
		if len(got) != 2 || min(got[0], got[1]) != c*testC || max(got[0], got[1]) != c*testC+half {
			t.Fatalf("chunk %d asked from %v, want %d then the missing half", c, got, c*testC)
		}
	}
}

// TestEmptyBody200 is C2's variant: a 0-byte body with status 200.
func TestEmptyBody200(t *testing.T) {
	size := int64(testC / 2)
	data := content(size)
	s := newServer(t, data, once(size, func(int64, int64) fault { return fault{cut: 0} }))
	e := New(fast(Config{ChunkSize: testC}))
	fetchAll(t, e, s, data, nil, newOut(t, size))
	if n := len(s.requests()); n != 2 {
		t.Fatalf("%d requests, want 2", n)
	}

	// A ranged request answered 200 with Content-Length 0 is retried; it
	// does not mean the server ignores Range.
	size = 3 * testC
	data = content(size)
	s = newServer(t, data, once(size, func(int64, int64) fault { return fault{status: 200} },
		testC))
	e = New(fast(Config{Connections: 2, ChunkSize: testC}))
	if res := fetchAll(t, e, s, data, nil, newOut(t, size)); res.RangeIgnored ||
		res.Retries != 1 {
		t.Fatalf("range ignored %v, %d retries", res.RangeIgnored, res.Retries)
	}
}

// TestShortBodyExhausted reports expected and received bytes when retries
// run out. Each attempt adds 500 bytes, less than 1% of the chunk: no
// progress that would start the count over.
func TestShortBodyExhausted(t *testing.T) {
	size := int64(testC)
	s := newServer(t, content(size), func(int, *http.Request) fault { return fault{cut: 500} })
	e := New(fast(Config{ChunkSize: testC, Retries: 2}))
	_, err := e.Fetch(context.Background(), newJob(s, size, newOut(t, size)))
	want := "fetch lora/detail.safetensors bytes 0-65535: gave up after 3 attempts: " +
		"body ended early: received 1500 of 65536 bytes: unexpected EOF"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant  %s", err, want)
	}
	var sb *ShortBodyError
	if !errors.As(err, &sb) || sb.Expected != size || sb.Received != 1500 {
		t.Fatalf("ShortBodyError %+v", sb)
	}
}

// TestRangeIgnored is CASES.md C11: a server that answers every Range with
// the whole body; the file comes as one stream from byte 0.
func TestRangeIgnored(t *testing.T) {
	size := int64(6*testC + 9)
	data := content(size)
	ignore := func(int, *http.Request) fault { return fault{cut: -1, ignoreRange: true} }
	t.Run("fresh", func(t *testing.T) {
		s := newServer(t, data, ignore)
		e := New(fast(Config{Connections: 4, ChunkSize: testC}))
		res := fetchAll(t, e, s, data, nil, newOut(t, size))
		if !res.RangeIgnored {
			t.Fatal("RangeIgnored not reported")
		}
	})
	t.Run("resume", func(t *testing.T) {
		// The first chunk is on disk, so no ranged answer starts at byte 0.
		s := newServer(t, data, ignore)
		out := newOut(t, size)
		copy(out.data, data[:testC])
		e := New(fast(Config{Connections: 4, ChunkSize: testC}))
		res := fetchAll(t, e, s, data, span.Set{{Start: 0, End: testC}}, out)
		if !res.RangeIgnored {
			t.Fatal("RangeIgnored not reported")
		}
		streams := 0
		for _, r := range s.requests() {
			if r.rng == "" {
				streams++
			}
		}
		if streams != 1 {
			t.Fatalf("%d requests without Range, want one stream", streams)
		}
	})
}

// TestRangeIgnoredDrops: a stream that drops starts again from byte 0
// (rewriting the same bytes); one that keeps dropping fails clearly.
func TestRangeIgnoredDrops(t *testing.T) {
	size := int64(6*testC + 9)
	data := content(size)
	s := newServer(t, data, func(n int, _ *http.Request) fault {
		if n == 0 {
			return fault{cut: size / 2, ignoreRange: true}
		}
		return fault{cut: -1, ignoreRange: true}
	})
	out := newOut(t, size)
	out.overlapOK = true
	e := New(fast(Config{Connections: 1, ChunkSize: testC}))
	if res := fetchAll(t, e, s, data, nil, out); !res.RangeIgnored || !out.overlapped {
		t.Fatalf("range ignored %v, rewrote from 0 %v", res.RangeIgnored, out.overlapped)
	}

	s = newServer(t, data, func(int, *http.Request) fault {
		return fault{cut: 1000, ignoreRange: true}
	})
	out = newOut(t, size)
	out.overlapOK = true
	_, err := New(fast(Config{Connections: 2, ChunkSize: testC, Retries: 2})).
		Fetch(context.Background(), newJob(s, size, out))
	want := "fetch lora/detail.safetensors bytes 0-393224: server ignores range requests " +
		"and the stream from byte 0 failed: gave up after 3 attempts: body ended early: " +
		"received 1000 of 393225 bytes: unexpected EOF"
	if !errors.Is(err, ErrRangeIgnored) || err.Error() != want {
		t.Fatalf("err = %v\nwant  %s", err, want)
	}
}

// TestStall is CASES.md C6a: half a chunk then silence; the idle timeout
// fires and the chunk continues.
func TestStall(t *testing.T) {
	size := int64(4*testC + 1)
	data := content(size)
	s := newServer(t, data, once(size, func(a, b int64) fault {
		return fault{cut: (b - a) / 2, stall: true}
	}, 2*testC))
	e := New(fast(Config{Connections: 2, ChunkSize: testC, IdleTimeout: 300 * time.Millisecond}))
	res := fetchAll(t, e, s, data, nil, newOut(t, size))
	if res.Fetched != size {
		t.Fatalf("fetched %d, want %d", res.Fetched, size)
	}
}

// TestSlowHealthy is CASES.md C6b: a trickle that takes longer than the
// idle timeout (1.5 s against 1 s) but is never silent that long completes.
func TestSlowHealthy(t *testing.T) {
	size := int64(96 << 10)
	data := content(size)
	s := newServer(t, data, func(int, *http.Request) fault {
		return fault{cut: -1, rate: 64 << 10}
	})
	e := New(fast(Config{IdleTimeout: time.Second}))
	res := fetchAll(t, e, s, data, nil, newOut(t, size))
	if res.Retries != 0 {
		t.Fatalf("%d retries on a healthy trickle", res.Retries)
	}
}

// TestRateLimit: one limiter caps all connections (a loose lower bound on
// the time taken; no upper bound).
func TestRateLimit(t *testing.T) {
	size := int64(1536 << 10)
	data := content(size)
	s := newServer(t, data, nil)
	e := New(fast(Config{Connections: 4, ChunkSize: 256 << 10, MaxRate: 2 << 20}))
	start := time.Now()
	fetchAll(t, e, s, data, nil, newOut(t, size))
	// At least (size - burst) / rate = 0.625 s.
	if took := time.Since(start); took < 500*time.Millisecond {
		t.Fatalf("1.5 MiB at 2 MiB/s took %v", took)
	}
}

// TestUnknownSize fetches Size -1 jobs as one stream, with and without a
// length, and resumes a dropped one with an open-ended Range.
func TestUnknownSize(t *testing.T) {
	size := int64(300_001)
	data := content(size)
	for _, tc := range []struct {
		name string
		hook func(int, *http.Request) fault
	}{
		{"length", nil},
		{"chunked", func(int, *http.Request) fault { return fault{cut: -1, noLength: true} }},
		{"chunked drop", func(n int, _ *http.Request) fault {
			if n == 0 {
				return fault{cut: 100_000, noLength: true}
			}
			return fault{cut: -1, noLength: true}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, data, tc.hook)
			out := newOut(t, 0)
			pr := &Progress{}
			j := &Job{Name: "x.bin", URL: s.url(), Size: -1, Out: out, Progress: pr}
			res, err := New(fast(Config{})).Fetch(context.Background(), j)
			if err != nil {
				t.Fatal(err)
			}
			if digest(out.bytes()) != digest(data) || res.Size != size || res.Fetched != size ||
				pr.Size() != size || pr.Done() != size {
				t.Fatalf("size %d fetched %d progress %d/%d", res.Size, res.Fetched,
					pr.Done(), pr.Size())
			}
			if reqs := s.requests(); len(reqs) == 2 && reqs[1].rng != "bytes=100000-" {
				t.Fatalf("resumed with %q", reqs[1].rng)
			}
		})
	}
}

// TestWriteError: a failing WriteAt ends the job at once, naming the range.
func TestWriteError(t *testing.T) {
	size := int64(4 * testC)
	s := newServer(t, content(size), nil)
	out := newOut(t, size)
	out.failAt = 2*testC + 1
	_, err := New(fast(Config{Connections: 1, ChunkSize: testC})).
		Fetch(context.Background(), newJob(s, size, out))
	want := "fetch lora/detail.safetensors bytes 131072-196607: write at offset 131072: " +
		"write 131072: no space left on device"
	if err == nil || err.Error() != want || Retryable(err) || len(s.requests()) != 3 {
		t.Fatalf("err = %v after %d requests", err, len(s.requests()))
	}
}

// TestUnknownSizeEmpty: an empty stream of unknown size is an empty file.
func TestUnknownSizeEmpty(t *testing.T) {
	s := newServer(t, nil, nil)
	j := &Job{Name: "x.bin", URL: s.url(), Size: -1, Out: newOut(t, 0)}
	res, err := New(fast(Config{})).Fetch(context.Background(), j)
	if err != nil || res.Size != 0 || res.Requests != 1 {
		t.Fatalf("size %d after %d requests, err %v", res.Size, res.Requests, err)
	}
}
