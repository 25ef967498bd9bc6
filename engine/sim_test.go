package engine_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"provision/bench/sim"
	"provision/engine"
	"provision/internal/span"
)

// bufOut is an Output in memory.
type bufOut struct {
	mu   sync.Mutex
	data []byte
}

func (o *bufOut) WriteAt(b []byte, off int64) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	copy(o.data[off:], b)
	return len(b), nil
}

func (o *bufOut) Commit(span.Range) error { return nil }

// TestSimFaults runs the engine against the simulator's fault knobs on one
// plain file: whatever the server does, the bytes come out exact, and the
// faults that cut bodies cost no byte fetched twice.
func TestSimFaults(t *testing.T) {
	const size = 12 << 20
	for _, tc := range []struct {
		name      string
		f         sim.Faults
		refetchOK bool // the server sends bytes the engine must throw away
	}{
		{"drops", sim.Faults{DropEvery: 3 << 20}, false},
		{"resets", sim.Faults{DropEvery: 3 << 20, DropReset: true}, true},
		{"short once", sim.Faults{ShortOnce: true}, false},
		{"empty once", sim.Faults{EmptyOnce: true}, false},
		{"stall", sim.Faults{StallAfter: 1 << 20}, false},
		{"ignore range", sim.Faults{IgnoreRange: true}, true},
		{"no length", sim.Faults{NoLength: true}, false},
		{"error page", sim.Faults{ErrorOnRange: 3}, false},
		{"error xml", sim.Faults{ErrorOnRange: 3, ErrorXML: true}, false},
		{"spurious 416", sim.Faults{Spurious416: true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pf := &sim.PlainFile{Name: "models/big.safetensors", Size: size}
			s, err := sim.Start(sim.Config{Catalog: &sim.Catalog{Files: []*sim.PlainFile{pf}},
				Faults: tc.f})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			// The idle timeout is long enough that -race on a loaded machine
			// never fires it on a serving connection: that would drop the
			// bytes in flight and count them as fetched twice.
			e := engine.New(engine.Config{Connections: 6, ChunkSize: 2 << 20, MinSplit: 64 << 20,
				IdleTimeout: 2 * time.Second,
				Backoff:     func(int) time.Duration { return time.Millisecond }})
			out := &bufOut{data: make([]byte, size)}
			url := s.FilesURL + "/" + pf.Name
			j := &engine.Job{Name: "checkpoints/big.safetensors", URL: url, Size: size, Out: out,
				Refresh: func(context.Context) (string, http.Header, error) {
					return url, nil, nil
				}}
			if _, err := e.Fetch(context.Background(), j); err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(out.data)
			if got := hex.EncodeToString(sum[:]); got != pf.SHA256() {
				t.Fatalf("sha256 %s, want %s", got, pf.SHA256())
			}
			if fs := s.Stats().File(pf.Seed()); !tc.refetchOK && fs.Refetched() != 0 {
				t.Fatalf("%d bytes fetched twice (ranges %v)", fs.Refetched(), fs.Ranges)
			}
		})
	}
}

// BenchmarkSim fetches a file from the simulator's plain host with
// connections capped and a first-byte latency, as a CDN serves: 256 MiB
// (even chunks), 300 MiB (uneven, so the tail is split) and 256 MiB with a
// connection dropped every 16 MiB. It reports MB/s, the
// ideal for the caps, and (approximately) the bytes sent beyond the size.
func BenchmarkSim(b *testing.B) {
	const (
		conns    = 16
		connRate = 25_000_000
	)
	for _, bc := range []struct {
		name string
		size int64
		f    sim.Faults
	}{
		{"cdn", 256 << 20, sim.Faults{ConnRate: connRate, Latency: 20 * time.Millisecond}},
		{"cdn-uneven", 300 << 20, sim.Faults{ConnRate: connRate,
			Latency: 20 * time.Millisecond}},
		{"drops", 256 << 20, sim.Faults{ConnRate: connRate, Latency: 20 * time.Millisecond,
			DropEvery: 16 << 20}},
	} {
		size := bc.size
		b.Run(bc.name, func(b *testing.B) {
			pf := &sim.PlainFile{Name: "models/cdn.safetensors", Size: size}
			s, err := sim.Start(sim.Config{Catalog: &sim.Catalog{Files: []*sim.PlainFile{pf}},
				Faults: bc.f})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			e := engine.New(engine.Config{Connections: conns})
			out := &bufOut{data: make([]byte, size)}
			b.SetBytes(size)
			b.ResetTimer()
			for b.Loop() {
				j := &engine.Job{Name: "cdn.safetensors", URL: s.FilesURL + "/" + pf.Name,
					Size: size, Out: out}
				if _, err := e.Fetch(context.Background(), j); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			sum := sha256.Sum256(out.data)
			if hex.EncodeToString(sum[:]) != pf.SHA256() {
				b.Fatal("wrong bytes")
			}
			b.ReportMetric(float64(size)*float64(b.N)/b.Elapsed().Seconds()/1e6, "MB/s")
			b.ReportMetric(float64(conns*connRate)/1e6, "ideal-MB/s")
			fs := s.Stats().File(pf.Seed())
			b.ReportMetric(float64(max(0, fs.Bytes-size*int64(b.N)))/float64(b.N), "wasted-B/op")
		})
	}
}

// BenchmarkSimMany fetches 40 files of 16 MiB at once through one Engine
// from capped connections with a first-byte latency, and reports MB/s
// against the ideal for the caps.
func BenchmarkSimMany(b *testing.B) {
	const (
		files    = 40
		size     = 16 << 20
		conns    = 16
		connRate = 25_000_000
	)
	cat := &sim.Catalog{}
	for i := range files {
		cat.Files = append(cat.Files, &sim.PlainFile{
			Name: "models/m" + strconv.Itoa(i) + ".safetensors", Size: size})
	}
	s, err := sim.Start(sim.Config{Catalog: cat,
		Faults: sim.Faults{ConnRate: connRate, Latency: 30 * time.Millisecond}})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	e := engine.New(engine.Config{Connections: conns})
	outs := make([]*bufOut, files)
	for i := range outs {
		outs[i] = &bufOut{data: make([]byte, size)}
	}
	b.SetBytes(files * size)
	for b.Loop() {
		var wg sync.WaitGroup
		for i, pf := range cat.Files {
			wg.Go(func() {
				j := &engine.Job{Name: pf.Name, URL: s.FilesURL + "/" + pf.Name, Size: size,
					Out: outs[i]}
				if _, err := e.Fetch(context.Background(), j); err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
	}
	b.StopTimer()
	b.ReportMetric(float64(files*size)*float64(b.N)/b.Elapsed().Seconds()/1e6, "MB/s")
	b.ReportMetric(float64(conns*connRate)/1e6, "ideal-MB/s")
	b.ReportMetric(float64(e.Stats().Requests)/float64(b.N), "requests/op")
}

// TestSimRemoteChanged: a resume that passes the ETag of the first run as
// IfMatch fails with ErrRemoteChanged once the file was re-uploaded, and
// never writes a byte of the new version.
func TestSimRemoteChanged(t *testing.T) {
	const size = 4 << 20
	pf := &sim.PlainFile{Name: "models/v.safetensors", Size: size}
	s, err := sim.Start(sim.Config{Catalog: &sim.Catalog{Files: []*sim.PlainFile{pf}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e := engine.New(engine.Config{Connections: 4, ChunkSize: 1 << 20})
	url := s.FilesURL + "/" + pf.Name
	out := &bufOut{data: make([]byte, size)}
	res, err := e.Fetch(context.Background(), &engine.Job{Name: "v.safetensors", URL: url,
		Size: size, Out: out})
	if err != nil || res.ETag == "" {
		t.Fatalf("first run: etag %q, err %v", res.ETag, err)
	}

	if err := s.Replace(pf.Name, size); err != nil {
		t.Fatal(err)
	}
	written := &countOut{}
	_, err = e.Fetch(context.Background(), &engine.Job{Name: "v.safetensors", URL: url,
		Size: size, Have: span.Set{{Start: 0, End: size / 2}}, Out: written,
		IfMatch: res.ETag})
	if !errors.Is(err, engine.ErrRemoteChanged) || engine.Retryable(err) || written.n.Load() != 0 {
		t.Fatalf("err = %v after writing %d bytes", err, written.n.Load())
	}
}

// countOut counts the bytes written to it.
type countOut struct{ n atomic.Int64 }

func (o *countOut) WriteAt(b []byte, _ int64) (int, error) {
	o.n.Add(int64(len(b)))
	return len(b), nil
}

func (o *countOut) Commit(span.Range) error { return nil }

// TestSimThrottled is CASES.md C15: many small files against a server that
// answers 429 with Retry-After: 1 above 20 requests a second. Every file
// completes, and the pause a 429 asks for holds back all connections to
// the host instead of each finding out with its own 429.
func TestSimThrottled(t *testing.T) {
	const files = 40
	cat := &sim.Catalog{}
	for i := range files {
		cat.Files = append(cat.Files, &sim.PlainFile{
			Name: "embeddings/e" + strconv.Itoa(i) + ".pt", Size: 4096})
	}
	s, err := sim.Start(sim.Config{Catalog: cat, RequestRate: 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e := engine.New(engine.Config{Connections: 8,
		Backoff: func(int) time.Duration { return time.Millisecond }})
	var wg sync.WaitGroup
	for _, pf := range cat.Files {
		wg.Go(func() {
			out := &bufOut{data: make([]byte, pf.Size)}
			j := &engine.Job{Name: pf.Name, URL: s.FilesURL + "/" + pf.Name, Size: pf.Size,
				Out: out}
			if _, err := e.Fetch(context.Background(), j); err != nil {
				t.Error(err)
				return
			}
			if sum := sha256.Sum256(out.data); hex.EncodeToString(sum[:]) != pf.SHA256() {
				t.Errorf("%s: wrong bytes", pf.Name)
			}
		})
	}
	wg.Wait()
	if st := e.Stats(); st.Requests-files > files/2 {
		t.Fatalf("%d requests for %d files: the pauses were not shared", st.Requests, files)
	}
}

// TestSimMaxConns: a server that refuses connections beyond its cap with
// 503 and Retry-After still delivers the whole file to a wider engine.
func TestSimMaxConns(t *testing.T) {
	const size = 8 << 20
	pf := &sim.PlainFile{Name: "models/capped.safetensors", Size: size}
	s, err := sim.Start(sim.Config{Catalog: &sim.Catalog{Files: []*sim.PlainFile{pf}},
		MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e := engine.New(engine.Config{Connections: 3, ChunkSize: 1 << 20,
		Backoff: func(int) time.Duration { return time.Millisecond }})
	out := &bufOut{data: make([]byte, size)}
	j := &engine.Job{Name: "capped.safetensors", URL: s.FilesURL + "/" + pf.Name, Size: size,
		Out: out}
	if _, err := e.Fetch(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(out.data); hex.EncodeToString(sum[:]) != pf.SHA256() {
		t.Fatal("wrong bytes")
	}
}

// TestSimSignedURLExpires is CASES.md C5 end to end: the hub redirects to a
// signed CDN URL that expires mid-download (the simulator's clock jumps an
// hour once a third of the file is written) while connections also drop.
// The engine refreshes through the hub and fetches only what is missing.
func TestSimSignedURLExpires(t *testing.T) {
	const size = 6 << 20
	var skew atomic.Int64
	repo := &sim.Repo{ID: "org/model", Files: []*sim.RepoFile{{Path: "m.safetensors", Size: size}}}
	s, err := sim.Start(sim.Config{Catalog: &sim.Catalog{Repos: []*sim.Repo{repo}},
		Now:    func() time.Time { return time.Now().Add(time.Duration(skew.Load())) },
		Faults: sim.Faults{DropEvery: 5 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	var resolves atomic.Int32
	resolve := func(ctx context.Context) (string, http.Header, error) {
		resolves.Add(1)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet,
			s.HubURL+"/org/model/resolve/main/m.safetensors", nil)
		resp, err := noFollow.Do(req)
		if err != nil {
			return "", nil, err
		}
		resp.Body.Close()
		return resp.Header.Get("Location"), nil, nil
	}
	first, _, err := resolve(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	out := &skewOut{bufOut: bufOut{data: make([]byte, size)}, at: size / 3,
		jump: func() { skew.Store(int64(2 * time.Hour)) }}
	e := engine.New(engine.Config{Connections: 4, ChunkSize: 1 << 20,
		Backoff: func(int) time.Duration { return time.Millisecond }})
	res, err := e.Fetch(context.Background(), &engine.Job{Name: "checkpoints/m.safetensors",
		URL: first, Size: size, Out: out, Refresh: resolve})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(out.data)
	if hex.EncodeToString(sum[:]) != repo.Files[0].SHA256() {
		t.Fatal("wrong bytes")
	}
	if res.Refreshes != 1 || resolves.Load() != 2 || res.Fetched != size {
		t.Fatalf("%d refreshes (%d resolves), fetched %d of %d", res.Refreshes,
			resolves.Load(), res.Fetched, size)
	}
	if fs := s.Stats().File(repo.Files[0].Seed()); fs.Refetched() != 0 {
		t.Fatalf("%d bytes sent twice", fs.Refetched())
	}
}

// skewOut calls jump once the bytes written reach at.
type skewOut struct {
	bufOut
	n    atomic.Int64
	at   int64
	jump func()
	once sync.Once
}

func (o *skewOut) WriteAt(b []byte, off int64) (int, error) {
	n, err := o.bufOut.WriteAt(b, off)
	if o.n.Add(int64(n)) >= o.at {
		o.once.Do(o.jump)
	}
	return n, err
}
