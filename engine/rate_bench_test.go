package engine_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"provision/bench/sim"
	"provision/engine"
	"provision/internal/netx"
	"provision/internal/span"
)

// discardOut drops every byte: the rate benchmark measures the limiter.
type discardOut struct{}

func (discardOut) WriteAt(b []byte, _ int64) (int, error) { return len(b), nil }
func (discardOut) Commit(span.Range) error                { return nil }

// BenchmarkRateLimit holds Config.MaxRate (100 MB/s) over a long run
// (30 s; PROVISION_RATE_SECONDS overrides) with two big files on 16
// connections: the first starts alone and takes every connection, the
// second joins after a sixth of the run. It reports the rate over the
// whole run against the cap, and each file's rate from a third of the run
// to its end: a fair limiter gives them half each (fairness = slower file's
// rate over the faster's).
func BenchmarkRateLimit(b *testing.B) {
	const (
		maxRate = 100e6
		size    = 64 << 30 // never finishes: the run is cut by time
	)
	run := 30 * time.Second
	if d, err := time.ParseDuration(os.Getenv("PROVISION_RATE_SECONDS") + "s"); err == nil &&
		d > 0 {
		run = d
	}
	cat := &sim.Catalog{Files: []*sim.PlainFile{
		{Name: "models/a.safetensors", Size: size}, {Name: "models/b.safetensors", Size: size}}}
	s, err := sim.Start(sim.Config{Catalog: cat})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for b.Loop() {
		e := engine.New(engine.Config{Connections: 16, MaxRate: maxRate})
		ctx, cancel := context.WithTimeout(context.Background(), run)
		prs := []*engine.Progress{{}, {}}
		start := time.Now()
		var wg sync.WaitGroup
		for i, pf := range cat.Files {
			wg.Go(func() {
				if i == 1 && netx.Sleep(ctx, run/6) != nil {
					return
				}
				j := &engine.Job{Name: pf.Name, URL: s.FilesURL + "/" + pf.Name, Size: size,
					Out: discardOut{}, Progress: prs[i]}
				e.Fetch(ctx, j)
			})
		}
		var mark [2]int64
		if netx.Sleep(context.Background(), run/3) == nil {
			mark = [2]int64{prs[0].Fetched(), prs[1].Fetched()}
		}
		wg.Wait()
		elapsed := time.Since(start)
		cancel()
		total := float64(prs[0].Fetched()+prs[1].Fetched()) / elapsed.Seconds()
		window := (elapsed - run/3).Seconds()
		ra := float64(prs[0].Fetched()-mark[0]) / window
		rb := float64(prs[1].Fetched()-mark[1]) / window
		b.ReportMetric(total/1e6, "MB/s")
		b.ReportMetric(total/maxRate, "of-cap")
		b.ReportMetric(ra/1e6, "fileA-MB/s")
		b.ReportMetric(rb/1e6, "fileB-MB/s")
		b.ReportMetric(min(ra, rb)/max(ra, rb, 1), "fairness")
	}
}
