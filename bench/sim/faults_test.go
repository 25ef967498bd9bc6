package sim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// plainCatalog serves one virtual plain file "f.bin" of size bytes.
func plainCatalog(size int64) *Catalog {
	return &Catalog{Files: []*PlainFile{{Name: "f.bin", Size: size}}}
}

// fresh returns a client with its own connections, so that faults which
// close connections do not leak between steps.
func fresh() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableCompression: true}}
}

func TestFaults(t *testing.T) {
	const size = 100_000
	type step struct {
		rng    string // Range header, "" for none
		status int
		n      int64 // body bytes received
		off    int64 // offset of the body in the file
		broken bool  // the body read ends with an error (cut connection)
	}
	tests := []struct {
		name   string
		faults Faults
		steps  []step
	}{
		{"none", Faults{}, []step{{"bytes=10-19", 206, 10, 10, false}}},
		{"ignore range", Faults{IgnoreRange: true}, []step{{"bytes=10-19", 200, size, 0, false}}},
		{"no length", Faults{NoLength: true}, []step{{"bytes=10-19", 206, 10, 10, false}}},
		{"empty once", Faults{EmptyOnce: true}, []step{
			{"bytes=0-99", 200, 0, 0, false}, {"bytes=0-99", 206, 100, 0, false}}},
		{"short once per region", Faults{ShortOnce: true}, []step{
			{"bytes=0-999", 206, 500, 0, true},
			{"bytes=500-999", 206, 500, 500, false},
			{"bytes=1000-1999", 206, 500, 1000, true},
			{"bytes=1000-1999", 206, 1000, 1000, false}}},
		{"error page on 2nd range", Faults{ErrorOnRange: 2}, []step{
			{"bytes=0-9", 206, 10, 0, false}, {"bytes=10-19", 503, -1, 0, false},
			{"bytes=10-19", 206, 10, 10, false}}},
		{"xml error page", Faults{ErrorOnRange: 1, ErrorXML: true}, []step{
			{"bytes=0-9", 403, -1, 0, false}, {"bytes=0-9", 206, 10, 0, false}}},
		{"spurious 416 once", Faults{Spurious416: true}, []step{
			{"bytes=0-9", 206, 10, 0, false}, {"bytes=50-59", 416, -1, 0, false},
			{"bytes=50-59", 206, 10, 50, false}}},
		{"always 416", Faults{Always416: true}, []step{
			{"bytes=0-9", 416, -1, 0, false}, {"", 200, size, 0, false}}},
		{"drop every 40000", Faults{DropEvery: 40_000}, []step{
			{"", 200, 40_000, 0, true}, {"bytes=40000-", 206, 40_000, 40_000, true},
			{"bytes=80000-", 206, 20_000, 80_000, false}}},
		{"drop with reset", Faults{DropEvery: 40_000, DropReset: true}, []step{
			{"bytes=0-", 206, -1, 0, true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, Config{Catalog: plainCatalog(size), Faults: tt.faults})
			b := s.plain["f.bin"].b
			for i, st := range tt.steps {
				hdr := map[string]string{}
				if st.rng != "" {
					hdr["Range"] = st.rng
				}
				resp, body, err := call(t, fresh(), http.MethodGet, s.FilesURL+"/f.bin", hdr)
				if resp.StatusCode != st.status {
					t.Fatalf("step %d: status %d, want %d", i, resp.StatusCode, st.status)
				}
				if (err != nil) != st.broken {
					t.Fatalf("step %d: body error %v, want broken=%v", i, err, st.broken)
				}
				if st.n >= 0 && int64(len(body)) != st.n {
					t.Fatalf("step %d: %d body bytes, want %d", i, len(body), st.n)
				}
				if st.n > 0 && !bytes.Equal(body, blobRange(b, st.off, st.n)) {
					t.Fatalf("step %d: wrong bytes", i)
				}
				if st.status == 416 && resp.Header.Get("Content-Range") != "bytes */100000" {
					t.Errorf("step %d: Content-Range %q", i, resp.Header.Get("Content-Range"))
				}
			}
		})
	}
}

func TestErrorPageBodies(t *testing.T) {
	s := start(t, Config{Catalog: plainCatalog(1000), Faults: Faults{ErrorOnRange: 1}})
	resp, body := get(t, fresh(), s.FilesURL+"/f.bin", map[string]string{"Range": "bytes=0-9"})
	if resp.StatusCode != 503 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(string(body), "<html>") {
		t.Errorf("503 page: %q %s", resp.Header.Get("Content-Type"), body)
	}
}

func TestDropResetIsReset(t *testing.T) {
	s := start(t, Config{Catalog: plainCatalog(1 << 20),
		Faults: Faults{DropEvery: 64 << 10, DropReset: true}})
	_, _, err := call(t, fresh(), http.MethodGet, s.FilesURL+"/f.bin", nil)
	if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("read error %v, want a connection reset", err)
	}
}

func TestStall(t *testing.T) {
	s := start(t, Config{Catalog: plainCatalog(100_000), Faults: Faults{StallAfter: 1000}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.FilesURL+"/f.bin", nil)
	resp, err := fresh().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got := make([]byte, 1000)
	if _, err := io.ReadFull(resp.Body, got); err != nil {
		t.Fatalf("first 1000 bytes: %v", err)
	}
	// Nothing more comes: a read blocks until the client gives up.
	done := make(chan int)
	go func() {
		n, _ := resp.Body.Read(make([]byte, 10))
		done <- n
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	if n := <-done; n != 0 {
		t.Errorf("read %d bytes after the stall point", n)
	}
	// The stall fires once: the next answer is whole.
	_, body := get(t, fresh(), s.FilesURL+"/f.bin", nil)
	if len(body) != 100_000 {
		t.Errorf("after the stall: %d bytes", len(body))
	}
}

func TestRequestRateAndConnLimit(t *testing.T) {
	s := start(t, Config{Catalog: plainCatalog(10), RequestRate: 2})
	statuses := map[int]int{}
	for range 6 {
		resp, _ := get(t, fresh(), s.FilesURL+"/f.bin", nil)
		statuses[resp.StatusCode]++
		if resp.StatusCode == 429 && resp.Header.Get("Retry-After") != "1" {
			t.Errorf("429 Retry-After %q", resp.Header.Get("Retry-After"))
		}
	}
	if statuses[429] == 0 || statuses[200] == 0 {
		t.Errorf("statuses %v, want some 200 and some 429", statuses)
	}

	s = start(t, Config{Catalog: plainCatalog(10), MaxConns: 1})
	first := fresh() // keeps its connection open (idle keep-alive)
	if resp, _ := get(t, first, s.FilesURL+"/f.bin", nil); resp.StatusCode != 200 {
		t.Fatalf("first connection: %d", resp.StatusCode)
	}
	resp, _ := get(t, fresh(), s.FilesURL+"/f.bin", nil)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("second connection: %d Retry-After %q", resp.StatusCode,
			resp.Header.Get("Retry-After"))
	}
}

func TestSetFaultsPerFile(t *testing.T) {
	s := start(t, Config{})
	if err := s.SetFaults("nope", Faults{}); err == nil {
		t.Error("unknown key accepted")
	}
	if err := s.SetFaults("models/4x-UltraSharp.pth", Faults{IgnoreRange: true}); err != nil {
		t.Fatal(err)
	}
	rng := map[string]string{"Range": "bytes=0-9"}
	var resp *http.Response
	resp, _ = get(t, fresh(), s.FilesURL+"/models/4x-UltraSharp.pth", rng)
	if resp.StatusCode != 200 {
		t.Errorf("faulty file: %d", resp.StatusCode)
	}
	resp, _ = get(t, fresh(), s.FilesURL+"/EasyNegative.safetensors", rng)
	if resp.StatusCode != 206 {
		t.Errorf("other file: %d", resp.StatusCode)
	}
	// The default applies to files without their own faults; by CivitAI id too.
	s.SetFaults("", Faults{IgnoreRange: true})
	s.SetFaults("civitai:2", Faults{})
	resp, _ = get(t, fresh(), s.FilesURL+"/EasyNegative.safetensors", rng)
	if resp.StatusCode != 200 {
		t.Errorf("default fault not applied: %d", resp.StatusCode)
	}
	resp, _ = get(t, fresh(), s.CivitAIURL+"/api/download/models/202?fileId=2", rng)
	if resp.StatusCode != 206 {
		t.Errorf("own faults overridden by the default: %d", resp.StatusCode)
	}
}

func TestRatesComplete(t *testing.T) {
	// Caps slow the answer down but never change its bytes.
	s := start(t, Config{Catalog: plainCatalog(200_000), TotalRate: 4 << 20,
		Faults: Faults{ConnRate: 2 << 20, Latency: time.Millisecond}})
	_, body := get(t, fresh(), s.FilesURL+"/f.bin", nil)
	if sum(body) != s.Catalog.File("f.bin").SHA256() {
		t.Error("rate-limited body differs")
	}
}
