package sim

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"provision/internal/span"
)

func TestPlainFiles(t *testing.T) {
	s := start(t, Config{})
	tests := []struct {
		name   string
		hdr    map[string]string
		status int
		disp   string
	}{
		{"models/4x-UltraSharp.pth", nil, 200, ""},
		{"download/zen", nil, 200, `attachment; filename="青禅_Zen.safetensors"`},
		{"download/zen-ext", nil, 200,
			`attachment; filename*=UTF-8''%E9%9D%92%E7%A6%85_Zen.safetensors`},
		{"download/evil", nil, 200, `attachment; filename="../../x.safetensors"`},
		{"private/model.safetensors", nil, 403, ""},
		{"private/model.safetensors", map[string]string{"X-Api-Key": "wrong"}, 403, ""},
		{"private/model.safetensors", map[string]string{"X-Api-Key": DemoAPIKey}, 200, ""},
		{"nope.bin", nil, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, fresh(), s.FilesURL+"/"+tt.name+"?x=1", tt.hdr)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if got := resp.Header.Get("Content-Disposition"); got != tt.disp {
				t.Errorf("Content-Disposition %q, want %q", got, tt.disp)
			}
			if tt.status == 200 && sum(body) != s.Catalog.File(tt.name).SHA256() {
				t.Error("sha256 mismatch")
			}
		})
	}
	// The custom header reached only the plain host.
	if seen := s.Stats().Seen("", "X-Api-Key"); len(seen) != 2 || seen[0].Kind != "files" {
		t.Errorf("X-Api-Key seen %d times", len(seen))
	}
}

func TestStatsRanges(t *testing.T) {
	const size, chunk = 10_000, 3_000
	s := start(t, Config{Catalog: plainCatalog(size)})
	c := fresh()
	for off := int64(0); off < size; off += chunk {
		rng := fmt.Sprintf("bytes=%d-%d", off, min(off+chunk, size)-1)
		get(t, c, s.FilesURL+"/f.bin", map[string]string{"Range": rng})
	}
	get(t, c, s.FilesURL+"/f.bin", map[string]string{"Range": "bytes=0-99"}) // twice
	req, _ := http.NewRequest(http.MethodHead, s.FilesURL+"/f.bin", nil)
	resp, _ := c.Do(req)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	seed := s.Catalog.File("f.bin").Seed()
	st := s.Stats().File(seed)
	wantRanges := []string{"bytes=0-2999", "bytes=3000-5999", "bytes=6000-8999",
		"bytes=9000-9999", "bytes=0-99", ""}
	if !slices.Equal(st.Ranges, wantRanges) {
		t.Errorf("Ranges %q", st.Ranges)
	}
	if st.Requests != 6 || st.Bytes != size+100 || st.Refetched() != 100 ||
		!span.Normalize(st.Sent).Covers(size) {
		t.Errorf("stats %+v refetched %d", st, st.Refetched())
	}
	if n := s.Stats().Requests["files"]; n != 6 {
		t.Errorf("files requests %d", n)
	}
	s.ResetStats()
	if st := s.Stats(); len(st.Log) != 0 || len(st.Files) != 0 {
		t.Error("ResetStats kept counters")
	}
}

// BenchmarkServe measures one connection downloading a large file over
// loopback: the simulator's own cost in a raw throughput benchmark.
func BenchmarkServe(b *testing.B) {
	const size = 256 << 20
	s, err := Start(Config{Catalog: plainCatalog(size)})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	c := fresh()
	b.SetBytes(size)
	for b.Loop() {
		resp, err := c.Get(s.FilesURL + "/f.bin")
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if n != size {
			b.Fatalf("read %d bytes", n)
		}
	}
}

// BenchmarkConnRate fetches a file in 16 ranges over 16 connections capped
// at 25 MB/s each and reports the share of the ideal rate reached, to show
// how exactly the caps hold (issue benchmarks compare against that ideal).
func BenchmarkConnRate(b *testing.B) {
	const size, conns, rate = 64 << 20, 16, 25_000_000
	s, err := Start(Config{Catalog: plainCatalog(size), Faults: Faults{ConnRate: rate}})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.SetBytes(size)
	start := time.Now()
	for b.Loop() {
		var wg sync.WaitGroup
		for i := range conns {
			wg.Go(func() {
				req, _ := http.NewRequest(http.MethodGet, s.FilesURL+"/f.bin", nil)
				part := int64(size / conns)
				req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", int64(i)*part,
					int64(i+1)*part-1))
				resp, err := fresh().Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			})
		}
		wg.Wait()
	}
	ideal := float64(size) / (conns * rate) * float64(b.N)
	b.ReportMetric(ideal/time.Since(start).Seconds(), "of-ideal")
}
