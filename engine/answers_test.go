package engine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestErrorPageInChunk is CASES.md C12: one chunk gets an HTML 503, a
// variant an XML 403 that a refresh cures.
func TestErrorPageInChunk(t *testing.T) {
	size := int64(6*testC + 1)
	data := content(size)
	for _, tc := range []struct {
		name   string
		f      fault
		refr   int
		status int
	}{
		{"html 503", fault{status: 503, body: "<html>busy</html>",
			header: map[string]string{"Content-Type": "text/html"}}, 0, 503},
		{"xml 403", fault{status: 403, body: "<Error><Code>AccessDenied</Code></Error>",
			header: map[string]string{"Content-Type": "application/xml"}}, 1, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, data, once(size, func(int64, int64) fault { return tc.f }, 3*testC))
			e := New(fast(Config{Connections: 3, ChunkSize: testC}))
			out := newOut(t, size)
			j := newJob(s, size, out)
			j.Refresh = func(context.Context) (string, http.Header, error) {
				return s.url(), nil, nil
			}
			res, err := e.Fetch(context.Background(), j)
			if err != nil {
				t.Fatal(err)
			}
			if digest(out.bytes()) != digest(data) || res.Refreshes != tc.refr {
				t.Fatalf("refreshes %d, want %d (or wrong bytes)", res.Refreshes, tc.refr)
			}
		})
	}
}

// TestWebPageRefused: an HTML answer is never written as a model; a .json
// file may be JSON.
func TestWebPageRefused(t *testing.T) {
	size := int64(5000)
	page := fault{status: 200, body: "<html>log in</html>",
		header: map[string]string{"Content-Type": "text/html; charset=utf-8"}}
	s := newServer(t, content(size), func(int, *http.Request) fault { return page })
	out := newOut(t, size)
	_, err := New(fast(Config{})).Fetch(context.Background(), newJob(s, size, out))
	want := "fetch lora/detail.safetensors bytes 0-4999: server sent a web page instead " +
		"of the file (status 200, content-type text/html)"
	if !errors.Is(err, ErrWebPage) || err.Error() != want || Retryable(err) {
		t.Fatalf("err = %v", err)
	}
	if len(out.written) != 0 || len(s.requests()) != 1 {
		t.Fatalf("wrote %v after %d requests", out.written, len(s.requests()))
	}

	body := `{"a": 1}`
	js := newServer(t, []byte(body), func(int, *http.Request) fault {
		return fault{status: 200, body: body,
			header: map[string]string{"Content-Type": "application/json"}}
	})
	out = newOut(t, int64(len(body)))
	j := &Job{Name: "text_encoder/config.json", URL: js.url(), Size: int64(len(body)), Out: out}
	if _, err := New(fast(Config{})).Fetch(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	if string(out.bytes()) != body {
		t.Fatalf("got %q", out.bytes())
	}
}

// TestSpurious416 is CASES.md C13b: one 416 mid-file is retried; a range
// that keeps answering 416 fails instead of finishing a short file.
func TestSpurious416(t *testing.T) {
	size := int64(4*testC + 3)
	data := content(size)
	r416 := func(int64, int64) fault {
		return fault{status: 416,
			header: map[string]string{"Content-Range": fmt.Sprintf("bytes */%d", size)}}
	}
	s := newServer(t, data, once(size, r416, 2*testC))
	fetchAll(t, New(fast(Config{Connections: 2, ChunkSize: testC})), s, data, nil,
		newOut(t, size))

	always := func(_ int, r *http.Request) fault {
		if a, b := rangeStart(r, size); a == 2*testC {
			return r416(a, b)
		}
		return fault{cut: -1}
	}
	s = newServer(t, data, always)
	_, err := New(fast(Config{Connections: 2, ChunkSize: testC})).
		Fetch(context.Background(), newJob(s, size, newOut(t, size)))
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 416 ||
		!strings.HasPrefix(err.Error(), "fetch lora/detail.safetensors bytes 131072-196607: ") {
		t.Fatalf("err = %v", err)
	}

	// A 416 naming another total means the remote changed.
	s = newServer(t, data, func(int, *http.Request) fault {
		return fault{status: 416, header: map[string]string{"Content-Range": "bytes */77"}}
	})
	_, err = New(fast(Config{ChunkSize: testC})).
		Fetch(context.Background(), newJob(s, size, newOut(t, size)))
	if !errors.Is(err, ErrSizeChanged) {
		t.Fatalf("err = %v", err)
	}
}

// TestRetryAfter waits as long as a 429's Retry-After says, even with a
// fast backoff.
func TestRetryAfter(t *testing.T) {
	size := int64(2*testC + 1)
	data := content(size)
	var mu sync.Mutex
	var at429, after time.Time
	hook429 := once(size, func(int64, int64) fault {
		mu.Lock()
		at429 = time.Now()
		mu.Unlock()
		return fault{status: 429, header: map[string]string{"Retry-After": "1"}}
	}, testC)
	s := newServer(t, data, func(n int, r *http.Request) fault {
		f := hook429(n, r)
		if a, _ := rangeStart(r, size); a == testC && f.status == 0 {
			mu.Lock()
			after = time.Now()
			mu.Unlock()
		}
		return f
	})
	fetchAll(t, New(fast(Config{Connections: 2, ChunkSize: testC})), s, data, nil,
		newOut(t, size))
	if gap := after.Sub(at429); gap < 900*time.Millisecond {
		t.Fatalf("retried %v after a 429 with Retry-After: 1", gap)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"": 0, "3": 3 * time.Second, "-1": 0, "soon": 0, "99999": maxRetryAfter,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Hour).Format(http.TimeFormat):       0,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestRefresh is CASES.md C5: the signed URL expires mid-download and a
// connection drops; one refresh, only the missing ranges fetched again.
func TestRefresh(t *testing.T) {
	size := int64(8*testC + 3)
	data := content(size)
	var mu sync.Mutex
	sig, served := "1", 0
	drop := once(size, func(a, b int64) fault { return fault{cut: (b - a) / 3} }, 5*testC)
	s := newServer(t, data, func(n int, r *http.Request) fault {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Query().Get("sig") != sig || (sig == "1" && served >= 3) {
			return fault{status: 403, body: "<Error><Code>AccessDenied</Code></Error>",
				header: map[string]string{"Content-Type": "application/xml"}}
		}
		served++
		return drop(n, r)
	})
	var calls atomic.Int32
	out := newOut(t, size)
	j := newJob(s, size, out)
	j.Refresh = func(context.Context) (string, http.Header, error) {
		calls.Add(1)
		mu.Lock()
		sig = "2"
		mu.Unlock()
		return strings.Replace(s.url(), "sig=secret", "sig=2", 1), nil, nil
	}
	j.URL = strings.Replace(s.url(), "sig=secret", "sig=1", 1)
	res, err := New(fast(Config{Connections: 4, ChunkSize: testC})).Fetch(context.Background(), j)
	if err != nil {
		t.Fatal(err)
	}
	if digest(out.bytes()) != digest(data) || calls.Load() != 1 || res.Refreshes != 1 ||
		res.Fetched != size {
		t.Fatalf("refreshes %d/%d, fetched %d of %d (or wrong bytes)",
			calls.Load(), res.Refreshes, res.Fetched, size)
	}
}

// TestRefreshLimit stops after three refreshes that do not help, and a job
// that cannot refresh stops at the first 403.
func TestRefreshLimit(t *testing.T) {
	size := int64(1000)
	s := newServer(t, content(size), func(int, *http.Request) fault {
		return fault{status: 403}
	})
	var calls atomic.Int32
	j := newJob(s, size, newOut(t, size))
	j.Refresh = func(context.Context) (string, http.Header, error) {
		calls.Add(1)
		return s.url(), nil, nil
	}
	_, err := New(fast(Config{})).Fetch(context.Background(), j)
	want := "fetch lora/detail.safetensors bytes 0-999: url still refused after refreshing " +
		"it (3 refreshes): status 403 Forbidden from " + s.URL + "/files/model.safetensors?…"
	if !errors.Is(err, ErrRefreshLimit) || err.Error() != want || calls.Load() != 3 {
		t.Fatalf("err = %v after %d refreshes\nwant  %s", err, calls.Load(), want)
	}

	j = newJob(s, size, newOut(t, size))
	n := len(s.requests())
	if _, err := New(fast(Config{})).Fetch(context.Background(), j); err == nil ||
		len(s.requests()) != n+1 {
		t.Fatalf("err = %v after %d requests", err, len(s.requests())-n)
	}
}

// TestPermanentStatus: 401, 404 and other 4xx are asked once; the message
// carries the URL without its query.
func TestPermanentStatus(t *testing.T) {
	for _, code := range []int{401, 404, 400} {
		size := int64(3 * testC)
		s := newServer(t, content(size), func(int, *http.Request) fault {
			return fault{status: code}
		})
		_, err := New(fast(Config{Connections: 1, ChunkSize: testC})).
			Fetch(context.Background(), newJob(s, size, newOut(t, size)))
		want := fmt.Sprintf("fetch lora/detail.safetensors bytes 0-65535: status %d %s from "+
			"%s/files/model.safetensors?…", code, http.StatusText(code), s.URL)
		if err == nil || err.Error() != want || len(s.requests()) != 1 || Retryable(err) {
			t.Fatalf("err = %v after %d requests\nwant  %s", err, len(s.requests()), want)
		}
	}
}

func TestRetryable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&HTTPError{Status: 503}, true},
		{&HTTPError{Status: 429}, true},
		{&HTTPError{Status: 416}, true},
		{&HTTPError{Status: 404}, false},
		{&HTTPError{Status: 403}, false},
		{fmt.Errorf("x: %w", ErrIdleTimeout), true},
		{&ShortBodyError{Err: context.Canceled}, false},
		{&ShortBodyError{Err: errors.New("reset")}, true},
		{&netError{errors.New("dial")}, true},
		{ErrWebPage, false},
		{ErrSizeChanged, false},
		{context.Canceled, false},
		{errors.New("disk"), false},
	} {
		if got := Retryable(tc.err); got != tc.want {
			t.Errorf("Retryable(%v) = %v", tc.err, got)
		}
	}
}

func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"bytes 0-9/10", "bytes */10", "bytes 5-4/10", "bytes 0-9/*",
		"bits 0-1/2", "bytes 0-10/10", "bytes -1-2/3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		a, b, total, err := parseContentRange(v)
		if err != nil {
			return
		}
		if a == -1 && (b != -1 || total < 0) {
			t.Fatalf("%q: unsatisfied form %d %d %d", v, a, b, total)
		}
		if a >= 0 && (b < a || (total >= 0 && b >= total)) {
			t.Fatalf("%q: accepted %d-%d/%d", v, a, b, total)
		}
	})
}

// TestETagChanged: an answer with another strong ETag than the earlier ones
// means the file changed mid-download; none of its bytes are written.
func TestETagChanged(t *testing.T) {
	size := int64(4 * testC)
	s := newServer(t, content(size), func(_ int, r *http.Request) fault {
		if a, _ := rangeStart(r, size); a >= 2*testC {
			return fault{cut: -1, etag: `"v2"`}
		}
		return fault{cut: -1, etag: `"v1"`}
	})
	out := newOut(t, size)
	res, err := New(fast(Config{Connections: 1, ChunkSize: testC})).
		Fetch(context.Background(), newJob(s, size, out))
	want := `fetch lora/detail.safetensors bytes 131072-196607: remote file changed: ` +
		`etag "v2", earlier "v1"`
	if !errors.Is(err, ErrRemoteChanged) || err.Error() != want || res.ETag != `"v1"` {
		t.Fatalf("err = %v, etag %s", err, res.ETag)
	}
	if fmt.Sprint(out.written) != "[0-131071]" {
		t.Fatalf("wrote %v", out.written)
	}
}

// TestThrottleHoldsHost: after a 429 with Retry-After, other jobs wait for
// the host too instead of collecting their own 429s.
func TestThrottleHoldsHost(t *testing.T) {
	size := int64(1000)
	data := content(size)
	var mu sync.Mutex
	var at429 time.Time
	arrivals := []time.Time{}
	told := make(chan struct{})
	s := newServer(t, data, func(n int, _ *http.Request) fault {
		mu.Lock()
		defer mu.Unlock()
		if n == 0 {
			at429 = time.Now()
			close(told)
			return fault{status: 429, header: map[string]string{"Retry-After": "1"}}
		}
		arrivals = append(arrivals, time.Now())
		return fault{cut: -1}
	})
	e := New(fast(Config{Connections: 1}))
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := e.Fetch(context.Background(), newJob(s, size, newOut(t, size))); err != nil {
			t.Error(err)
		}
	})
	<-told
	wg.Go(func() {
		if _, err := e.Fetch(context.Background(), newJob(s, size, newOut(t, size))); err != nil {
			t.Error(err)
		}
	})
	wg.Wait()
	if len(arrivals) != 2 {
		t.Fatalf("%d requests after the 429, want 2", len(arrivals))
	}
	for _, a := range arrivals {
		if gap := a.Sub(at429); gap < 900*time.Millisecond {
			t.Fatalf("a request came %v after a 429 asking for 1 s", gap)
		}
	}
}

// TestEncodedBody: a body the server compressed is refused, unless the file
// is itself such an archive.
func TestEncodedBody(t *testing.T) {
	size := int64(3000)
	data := content(size)
	gz := func(int, *http.Request) fault {
		return fault{cut: -1, header: map[string]string{"Content-Encoding": "gzip"}}
	}
	s := newServer(t, data, gz)
	_, err := New(fast(Config{})).Fetch(context.Background(), newJob(s, size, newOut(t, size)))
	want := "fetch lora/detail.safetensors bytes 0-2999: server compressed the body " +
		"(content-encoding gzip)"
	if !errors.Is(err, ErrEncoded) || err.Error() != want {
		t.Fatalf("err = %v", err)
	}
	out := newOut(t, size)
	j := &Job{Name: "upscale_models/pack.tar.gz", URL: s.url(), Size: size, Out: out}
	if _, err := New(fast(Config{})).Fetch(context.Background(), j); err != nil ||
		digest(out.bytes()) != digest(data) {
		t.Fatalf("err = %v (or wrong bytes)", err)
	}
}
