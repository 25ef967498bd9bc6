package engine_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"provision/bench/sim"
	"provision/engine"
)

// TestDropsWithProgress: a server that cuts the connection every 300 000
// bytes needs more attempts than Config.Retries to send a 3 MiB file, but
// every attempt moves it, so the download completes with the right bytes
// (it used to give up after 9 attempts at 2 700 000 of 3 145 805 bytes).
func TestDropsWithProgress(t *testing.T) {
	const size = 3<<20 + 77
	pf := &sim.PlainFile{Name: "models/drops.safetensors", Size: size}
	s, err := sim.Start(sim.Config{Catalog: &sim.Catalog{Files: []*sim.PlainFile{pf}},
		Faults: sim.Faults{DropEvery: 300000}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e := engine.New(engine.Config{})
	out := &bufOut{data: make([]byte, size)}
	j := &engine.Job{Name: "checkpoints/drops.safetensors", URL: s.FilesURL + "/" + pf.Name,
		Size: size, Out: out}
	res, err := e.Fetch(context.Background(), j)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(out.data)
	if got := hex.EncodeToString(sum[:]); got != pf.SHA256() {
		t.Fatalf("sha256 %s, want %s", got, pf.SHA256())
	}
	if res.Retries <= engine.DefaultRetries {
		t.Fatalf("%d retries: the server did not drop often enough to test the rule",
			res.Retries)
	}
}

// TestDropsWithoutProgress: a server that sends a few bytes and drops,
// forever, is still given up after Config.Retries attempts: a few bytes
// (less than 1% of the piece and less than 64 KiB) are not progress.
func TestDropsWithoutProgress(t *testing.T) {
	const size = 1 << 20
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		from := 0
		if rng := r.Header.Get("Range"); rng != "" {
			a, _, _ := strings.Cut(strings.TrimPrefix(rng, "bytes="), "-")
			from, _ = strconv.Atoi(a)
			w.Header().Set("Content-Range",
				"bytes "+a+"-"+strconv.Itoa(size-1)+"/"+strconv.Itoa(size))
			w.Header().Set("Content-Length", strconv.Itoa(size-from))
			w.WriteHeader(http.StatusPartialContent)
		} else {
			w.Header().Set("Content-Length", strconv.Itoa(size))
		}
		w.Write(make([]byte, 100))
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}))
	defer srv.Close()
	e := engine.New(engine.Config{Retries: 4,
		Backoff: func(int) time.Duration { return time.Millisecond }})
	out := &bufOut{data: make([]byte, size)}
	j := &engine.Job{Name: "vae/few.safetensors", URL: srv.URL + "/few", Size: size, Out: out}
	res, err := e.Fetch(context.Background(), j)
	want := "fetch vae/few.safetensors bytes 0-1048575: gave up after 5 attempts: " +
		"body ended early: received 500 of 1048576 bytes: unexpected EOF"
	var sb *engine.ShortBodyError
	if err == nil || err.Error() != want || !errors.As(err, &sb) {
		t.Fatalf("err = %v\nwant  %s", err, want)
	}
	if res.Requests != 5 {
		t.Fatalf("%d requests, want 5", res.Requests)
	}
}
