package engine

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"provision/internal/span"
)

// TestChaos fetches files of random sizes, with random bytes already on
// disk, from a server that misbehaves at random on every request (bodies
// cut short, 503 pages, spurious 416, short stalls), with splitting made
// easy. Whatever happens, the bytes are exact, no byte is written twice
// and every written byte is committed.
func TestChaos(t *testing.T) {
	for seed := range uint64(chaosSeeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			size := 1 + rng.Int64N(3<<20)
			data := content(size)
			var have span.Set
			for range rng.IntN(4) {
				a := rng.Int64N(size)
				have = have.Add(span.Range{Start: a, End: min(size, a+rng.Int64N(size/4+1))})
			}
			var mu sync.Mutex
			got416 := map[int64]bool{} // a spurious 416 comes once per start
			hook := func(n int, r *http.Request) fault {
				a, _ := rangeStart(r, size)
				mu.Lock()
				x := rng.IntN(10)
				cut := rng.Int64N(256 << 10)
				if x == 2 {
					if got416[a] {
						x = -1
					}
					got416[a] = true
				}
				mu.Unlock()
				switch {
				case n%7 == 6:
					return fault{cut: -1} // progress is guaranteed now and then
				case x == 0:
					return fault{cut: cut}
				case x == 1:
					return fault{status: 503, body: "<html>busy</html>",
						header: map[string]string{"Content-Type": "text/html"}}
				case x == 2 && r.Header.Get("Range") != "":
					cr := fmt.Sprintf("bytes */%d", size)
					return fault{status: 416, header: map[string]string{"Content-Range": cr}}
				case x == 3:
					return fault{cut: cut, stall: true}
				}
				return fault{cut: -1}
			}
			s := newServer(t, data, hook)
			out := newOut(t, size)
			for _, h := range have {
				copy(out.data[h.Start:h.End], data[h.Start:h.End])
			}
			e := New(fast(Config{Connections: 1 + rng.IntN(6),
				ChunkSize: 64<<10 + rng.Int64N(1<<20), MinSplit: 32 << 10,
				CommitEvery: 100 << 10, Retries: 50, IdleTimeout: 150 * time.Millisecond}))
			fetchAll(t, e, s, data, have, out)
		})
	}
}

// chaosSeeds is how many random runs TestChaos makes; 300 pass too, but
// take 20 s.
var chaosSeeds = 12
