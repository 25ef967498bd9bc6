package engine_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"sync"
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
			e := engine.New(engine.Config{Connections: 6, ChunkSize: 2 << 20, MinSplit: 64 << 20,
				IdleTimeout: 300 * time.Millisecond,
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
