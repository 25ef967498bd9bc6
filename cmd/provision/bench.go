package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"provision/bench"
	"provision/bench/sim"
	"provision/resolver"
	"provision/store"
)

// benchCmd measures the download path: it serves the simulator with the
// given knobs in a child process (or takes --url), downloads through the
// engine and store.Part as run does, and prints MB/s against the ideal of
// the knobs, the client's CPU-seconds per GiB and its peak RSS.
func (env *environment) benchCmd(c *cli.Context) error {
	ctx := c.Context
	k, err := benchKnobs(c)
	if err != nil {
		return usageErr("bench: %v", err)
	}
	conns := c.Int("connections")
	maxRate, err := resolver.ParseRate(c.String("max-rate"))
	if err != nil {
		return usageErr("bench: max-rate: %v", err)
	}
	var files []bench.File
	if urls := c.StringSlice("url"); len(urls) > 0 {
		for _, u := range urls {
			n := k.Size // given: no HEAD before the clock runs
			if !c.IsSet("size") {
				if n, err = probeSize(ctx, u); err != nil {
					return err
				}
			}
			files = append(files, bench.File{URL: u, Size: n, SHA256: c.String("sha256")})
		}
		k = bench.Knobs{Size: files[0].Size, Files: len(files)}
		for _, f := range files[1:] {
			if f.Size != k.Size {
				k.Size = -1 // mixed sizes: no ideal from the knobs
			}
		}
	} else {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("bench: find own binary: %w", err)
		}
		srv, err := bench.StartServer(ctx, exe, k.SimArgs())
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer srv.Stop()
		files = srv.Files
		if c.Bool("verify") {
			// What the simulator serves is known, so the sha256 is checked
			// as a real download's would be. Computed before the clock runs.
			for i := range files {
				pf := &sim.PlainFile{Name: benchFileName(i), Size: files[i].Size}
				files[i].SHA256 = pf.SHA256()
			}
		}
	}

	fmt.Fprintf(env.stdout, "bench: %s, %d connections%s\n", describeKnobs(k), conns,
		rateNote(maxRate))
	if p := c.String("cpuprofile"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	chunk, err := resolver.ParseRate(c.String("chunk"))
	if err != nil {
		return usageErr("bench: chunk: %v", err)
	}
	var runs []bench.Result
	for i := range max(c.Int("repeat"), 1) {
		r, err := bench.Run(ctx, bench.Options{Files: files, Dir: c.String("dir"),
			Connections: conns, MaxRate: maxRate, ChunkSize: int64(chunk)})
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		runs = append(runs, r)
		fmt.Fprintf(env.stdout, "run %d: %.2f s  %.1f MB/s  CPU %.2f s  finish %.3f s\n",
			i+1, r.Wall.Seconds(), r.MBps(), r.CPU.Seconds(), r.Finish.Seconds())
	}
	m := median(runs)
	line := fmt.Sprintf("median of %d: %.2f s  %.1f MB/s", len(runs), m.Wall.Seconds(), m.MBps())
	ideal, capped := k.Ideal(conns)
	if maxRate > 0 {
		if t := time.Duration(float64(m.Bytes) / maxRate * float64(time.Second)); !capped ||
			t > ideal {
			ideal, capped = t, true
		}
	}
	if capped && k.Size > 0 {
		line += fmt.Sprintf("  ideal %.2f s (%.1f MB/s)  ratio %.3f", ideal.Seconds(),
			float64(m.Bytes)/ideal.Seconds()/1e6, ideal.Seconds()/m.Wall.Seconds())
	} else {
		line += "  ideal: no cap (bound by the copy cost)"
	}
	line += fmt.Sprintf("  client CPU %.2f s/GiB  peak RSS %s  fetched twice %s",
		m.CPUPerGiB(), store.HumanBytes(m.PeakRSS), store.HumanBytes(max(0, m.Fetched-m.Bytes)))
	fmt.Fprintln(env.stdout, line)
	// One line for scripts (bench/peers.sh).
	fmt.Fprintf(env.stdout, "BENCH wall=%.3f mbps=%.1f cpu=%.3f cpu_per_gib=%.3f rss_kib=%d "+
		"bytes=%d fetched=%d requests=%d retries=%d finish=%.3f\n", m.Wall.Seconds(), m.MBps(),
		m.CPU.Seconds(), m.CPUPerGiB(), m.PeakRSS>>10, m.Bytes, m.Fetched, m.Requests, m.Retries,
		m.Finish.Seconds())
	return nil
}

// median returns the run with the median wall time.
func median(rs []bench.Result) bench.Result {
	s := slices.Clone(rs)
	slices.SortFunc(s, func(a, b bench.Result) int { return int(a.Wall - b.Wall) })
	return s[len(s)/2]
}

// benchKnobs reads the simulator knobs from the flags.
func benchKnobs(c *cli.Context) (bench.Knobs, error) {
	var k bench.Knobs
	for _, f := range []struct {
		name string
		dst  *int64
	}{{"size", &k.Size}, {"conn-rate", &k.ConnRate}, {"total-rate", &k.TotalRate},
		{"drop-every", &k.DropEvery}} {
		v, err := resolver.ParseRate(c.String(f.name))
		if err != nil {
			return k, fmt.Errorf("%s: %w", f.name, err)
		}
		*f.dst = int64(v)
	}
	if k.Size <= 0 {
		return k, fmt.Errorf("size must be positive")
	}
	k.Files = c.Int("files")
	k.Latency = c.Duration("latency")
	k.DropReset = c.Bool("drop-reset")
	return k, nil
}

// describeKnobs says what a scenario is in one line.
func describeKnobs(k bench.Knobs) string {
	var b strings.Builder
	if k.Size > 0 {
		fmt.Fprintf(&b, "%d × %s", max(k.Files, 1), store.HumanBytes(k.Size))
	} else {
		fmt.Fprintf(&b, "%d files", k.Files)
	}
	if k.ConnRate > 0 {
		fmt.Fprintf(&b, ", %.0f MB/s per connection", float64(k.ConnRate)/1e6)
	}
	if k.TotalRate > 0 {
		fmt.Fprintf(&b, ", %.0f MB/s server total", float64(k.TotalRate)/1e6)
	}
	if k.Latency > 0 {
		fmt.Fprintf(&b, ", %s first byte", k.Latency)
	}
	if k.DropEvery > 0 {
		kind := "FIN"
		if k.DropReset {
			kind = "reset"
		}
		fmt.Fprintf(&b, ", a drop (%s) every %s", kind, store.HumanBytes(k.DropEvery))
	}
	return b.String()
}

func rateNote(r float64) string {
	if r <= 0 {
		return ""
	}
	return fmt.Sprintf(", --max-rate %.1f MB/s", r/1e6)
}

// probeSize asks a URL's size with a HEAD request.
func probeSize(ctx context.Context, u string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, u, nil)
	if err != nil {
		return 0, usageErr("bench: bad --url: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("bench: size of --url: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ContentLength <= 0 {
		return 0, fmt.Errorf("bench: size of --url: HEAD answered %s with length %d",
			resp.Status, resp.ContentLength)
	}
	return resp.ContentLength, nil
}

func benchFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "size", Value: "1GiB",
			Usage: "bytes per simulated file (with --url: the size, else asked with HEAD)"},
		&cli.IntFlag{Name: "files", Value: 1, Usage: "how many simulated files"},
		&cli.StringFlag{Name: "conn-rate", Value: "0",
			Usage: "simulator cap per connection, such as 25MB/s (0 = none)"},
		&cli.StringFlag{Name: "total-rate", Value: "0",
			Usage: "simulator cap of all connections (0 = none)"},
		&cli.DurationFlag{Name: "latency", Usage: "simulator first-byte delay, such as 20ms"},
		&cli.StringFlag{Name: "drop-every", Value: "0",
			Usage: "simulator cuts a connection every N bytes of a file, such as 64MiB"},
		&cli.BoolFlag{Name: "drop-reset", Usage: "cut with a TCP reset instead of a FIN"},
		&cli.StringSliceFlag{Name: "url",
			Usage: "download these URLs instead of starting the simulator (repeatable)"},
		&cli.StringFlag{Name: "sha256", Usage: "with --url: the files' sha256 to check"},
		&cli.IntFlag{Name: "connections", Value: 16, Usage: "connection budget"},
		&cli.StringFlag{Name: "chunk", Value: "0", Usage: "engine chunk size (0 = automatic)"},
		&cli.StringFlag{Name: "max-rate", Value: "0", Usage: "client bandwidth cap (0 = none)"},
		&cli.StringFlag{Name: "dir", Usage: "write here (default: a temp folder in /dev/shm, " +
			"removed after)"},
		&cli.BoolFlag{Name: "verify", Value: true,
			Usage: "check the sha256 of simulated files (--verify=false: size only)"},
		&cli.IntFlag{Name: "repeat", Value: 1, Usage: "runs; the median is reported"},
		&cli.StringFlag{Name: "cpuprofile", Usage: "write a pprof CPU profile of the runs here"},
	}
}
