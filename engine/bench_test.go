package engine

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"provision/internal/span"
)

// pattern serves a virtual file: byte i is pat[i%len(pat)].
type pattern struct {
	pat  []byte
	size int64
}

func (p pattern) ReadAt(b []byte, off int64) (int, error) {
	if off >= p.size {
		return 0, io.EOF
	}
	n := 0
	for n < len(b) && off < p.size {
		i := off % int64(len(p.pat))
		k := copy(b[n:min(len(b), n+int(p.size-off))], p.pat[i:])
		n += k
		off += int64(k)
	}
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}

// fileOut writes to an *os.File; Commit does nothing, as a store that
// journals without syncing would.
type fileOut struct{ f *os.File }

func (o fileOut) WriteAt(b []byte, off int64) (int, error) { return o.f.WriteAt(b, off) }
func (o fileOut) Commit(span.Range) error                  { return nil }

// BenchmarkFetch downloads 256 MiB from a loopback server into a file in
// /dev/shm (the temp dir when there is none) over 16 connections and
// reports MB/s. Server and client share the machine's cores.
func BenchmarkFetch(b *testing.B) {
	const size = 256 << 20
	pat := pattern{pat: content(1 << 20), size: size}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		http.ServeContent(w, r, "", time.Time{}, io.NewSectionReader(pat, 0, size))
	}))
	defer srv.Close()

	dir := "/dev/shm"
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		dir = b.TempDir()
	}
	f, err := os.CreateTemp(dir, "engine-bench-*")
	if err != nil {
		b.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()

	e := New(Config{Connections: 16})
	b.ReportAllocs()
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		j := &Job{Name: "bench.bin", URL: srv.URL + "/bench.bin", Size: size, Out: fileOut{f}}
		if _, err := e.Fetch(context.Background(), j); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(size)*float64(b.N)/b.Elapsed().Seconds()/1e6, "MB/s")

	got := make([]byte, 1<<20)
	if _, err := f.ReadAt(got, size-1<<20); err != nil {
		b.Fatal(err)
	}
	want := make([]byte, 1<<20)
	pat.ReadAt(want, size-1<<20)
	if digest(got) != digest(want) {
		b.Fatal("last MiB differs")
	}
}
