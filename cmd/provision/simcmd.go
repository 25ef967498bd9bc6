package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/urfave/cli/v2"

	"provision/bench/sim"
	"provision/resolver"
)

// simCmd serves the simulator on loopback until interrupted, for trying
// manifests by hand and for running other download tools against the same
// servers (bench/peers.sh).
func (env *environment) simCmd(c *cli.Context) error {
	cat := sim.DefaultCatalog()
	if n := c.Int64("scale"); n > 1 {
		cat.Scale(n)
	}
	// Sizes and rates take the units --max-rate takes ("25MB/s", "64MiB").
	knobs := map[string]int64{}
	for _, name := range []string{"size", "total-rate", "conn-rate", "drop-every"} {
		v, err := resolver.ParseRate(c.String(name))
		if err != nil {
			return usageErr("sim --%s: %v", name, err)
		}
		knobs[name] = int64(v)
	}
	bench := benchFiles(c.Int("files"), knobs["size"])
	cat.Files = append(cat.Files, bench...)
	s, err := sim.Start(sim.Config{
		Catalog:   cat,
		TotalRate: knobs["total-rate"],
		Faults: sim.Faults{
			ConnRate:  knobs["conn-rate"],
			Latency:   c.Duration("latency"),
			DropEvery: knobs["drop-every"],
			DropReset: c.Bool("drop-reset"),
		},
	})
	if err != nil {
		return fmt.Errorf("start simulator: %w", err)
	}
	defer s.Close()

	if dir := c.String("manifests"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		ms := s.Manifests()
		names := make([]string, 0, len(ms))
		for name := range ms {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			p := filepath.Join(dir, name+".toml")
			if err := os.WriteFile(p, []byte(ms[name]), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(env.stdout, "# manifest %s\n", p)
		}
	}
	for _, kv := range s.DemoEnv() {
		fmt.Fprintf(env.stdout, "export %s\n", kv)
	}
	fmt.Fprintf(env.stdout, "export FILES_URL=%s\nexport CDN_URL=%s\n", s.FilesURL, s.CDNURL)
	for _, f := range bench {
		line := fmt.Sprintf("# file %s/%s %d", s.FilesURL, f.Name, f.Size)
		if c.Bool("digest") {
			line += " " + f.SHA256()
		}
		fmt.Fprintln(env.stdout, line)
	}
	fmt.Fprintln(env.stdout, "# serving on loopback; Ctrl-C to stop")
	<-c.Context.Done()
	return nil
}

func simFlags() []cli.Flag {
	return []cli.Flag{
		&cli.Int64Flag{Name: "scale", Value: 1, Usage: "multiply every file size"},
		&cli.StringFlag{Name: "conn-rate", Value: "0",
			Usage: "cap per connection, e.g. 25MB/s (0 = none)"},
		&cli.StringFlag{Name: "total-rate", Value: "0",
			Usage: "cap of all connections, e.g. 1GB/s (0 = none)"},
		&cli.DurationFlag{Name: "latency", Value: 0 * time.Millisecond,
			Usage: "wait before every answer carrying file bytes"},
		&cli.StringFlag{Name: "drop-every", Value: "0",
			Usage: "cut a connection every N bytes of a file, e.g. 64MiB (0 = never)"},
		&cli.StringFlag{Name: "manifests", Usage: "write the example manifests into this folder"},
		&cli.BoolFlag{Name: "drop-reset", Usage: "drop connections with a TCP reset, not a FIN"},
		&cli.StringFlag{Name: "size", Value: "0", Usage: "also serve --files plain files of " +
			"this size, e.g. 2GiB, " +
			"at FILES_URL/bench/fNN.bin (listed as '# file URL SIZE' lines)"},
		&cli.IntFlag{Name: "files", Value: 1, Usage: "how many files of --size to serve"},
		&cli.BoolFlag{Name: "digest", Usage: "add each --size file's sha256 to its line"},
	}
}

// benchFiles returns n plain files of size bytes for benchmarks, none when
// size is not positive. BenchFileName names them.
func benchFiles(n int, size int64) []*sim.PlainFile {
	if size <= 0 {
		return nil
	}
	fs := make([]*sim.PlainFile, n)
	for i := range fs {
		fs[i] = &sim.PlainFile{Name: benchFileName(i), Size: size}
	}
	return fs
}

// benchFileName is the path of the i-th benchmark file under FILES_URL.
func benchFileName(i int) string { return fmt.Sprintf("bench/f%02d.bin", i) }
