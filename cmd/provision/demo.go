package main

import (
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"provision/bench/sim"
)

//go:embed demo.toml
var demoManifest string

// demoCmd starts the simulator on loopback and provisions the bundled
// manifest from it: the whole product, offline, with simulated tokens.
func (env *environment) demoCmd(c *cli.Context) error {
	cat := sim.DefaultCatalog()
	// Big enough to watch the bars move, small enough for a laptop.
	cat.Scale(8)
	s, err := sim.Start(sim.Config{
		Catalog: cat,
		// A capped link with a per-connection cap, as on a real CDN: the
		// demo takes a few seconds, long enough to watch the progress.
		TotalRate: 16 << 20,
		Faults:    sim.Faults{ConnRate: 4 << 20, Latency: 20 * time.Millisecond},
	})
	if err != nil {
		return fmt.Errorf("start simulator: %w", err)
	}
	defer s.Close()

	dir, err := os.MkdirTemp("", "provision-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "demo.toml")
	manifest := strings.NewReplacer("http://files.sim", s.FilesURL,
		"SIM_SHA256", cat.File("private/model.safetensors").SHA256()).Replace(demoManifest)
	if err := os.WriteFile(path, []byte(manifest), 0o644); err != nil {
		return err
	}

	vars := map[string]string{
		"HF_ENDPOINT":      s.HubURL,
		"CIVITAI_ENDPOINT": s.CivitAIURL,
		"HF_TOKEN":         sim.DemoHFToken,
		"CIVITAI_TOKEN":    sim.DemoCivitAIToken,
		"DEMO_API_KEY":     sim.DemoAPIKey,
		// The demo is always a real run into ./models, whatever the shell says.
		"DRY_RUN":            "",
		"PROVISION_URL":      "",
		"PROVISION_LINK_DIR": "",
	}
	demo := &environment{stdout: env.stdout, stderr: env.stderr, getenv: func(k string) string {
		if v, ok := vars[k]; ok {
			return v
		}
		return env.getenv(k)
	}}
	if !c.IsSet(flagModelsDir) && env.getenv("PROVISION_MODELS_DIR") == "" {
		vars["PROVISION_MODELS_DIR"] = "models"
	}
	fmt.Fprintf(env.stderr, "demo: simulator on %s (hub), %s (CivitAI), %s (CDN)\n",
		s.HubURL, s.CivitAIURL, s.CDNURL)
	_, _, err = demo.provision(c, path)
	return err
}
