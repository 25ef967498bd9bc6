package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/urfave/cli/v2"

	"provision/bench/sim"
)

// simCmd serves the simulator on loopback until interrupted, for trying
// manifests by hand and for running other download tools against the same
// servers (bench/peers.sh).
func (env *environment) simCmd(c *cli.Context) error {
	cat := sim.DefaultCatalog()
	if n := c.Int64("scale"); n > 1 {
		cat.Scale(n)
	}
	bench := benchFiles(c.Int("files"), c.Int64("size"))
	cat.Files = append(cat.Files, bench...)
	s, err := sim.Start(sim.Config{
		Catalog:   cat,
		TotalRate: c.Int64("total-rate"),
		Faults: sim.Faults{
			ConnRate:  c.Int64("conn-rate"),
			Latency:   c.Duration("latency"),
			DropEvery: c.Int64("drop-every"),
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
		&cli.Int64Flag{Name: "conn-rate", Usage: "bytes/s cap per connection (0 = none)"},
		&cli.Int64Flag{Name: "total-rate", Usage: "bytes/s cap of all connections (0 = none)"},
		&cli.DurationFlag{Name: "latency", Value: 0 * time.Millisecond,
			Usage: "wait before every answer carrying file bytes"},
		&cli.Int64Flag{Name: "drop-every", Usage: "cut a connection every N bytes of a file"},
		&cli.StringFlag{Name: "manifests", Usage: "write the example manifests into this folder"},
		&cli.BoolFlag{Name: "drop-reset", Usage: "drop connections with a TCP reset, not a FIN"},
		&cli.Int64Flag{Name: "size", Usage: "also serve --files plain files of this many bytes " +
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
