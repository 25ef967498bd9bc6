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
	s, err := sim.Start(sim.Config{
		Catalog:   cat,
		TotalRate: c.Int64("total-rate"),
		Faults: sim.Faults{
			ConnRate:  c.Int64("conn-rate"),
			Latency:   c.Duration("latency"),
			DropEvery: c.Int64("drop-every"),
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
	}
}
