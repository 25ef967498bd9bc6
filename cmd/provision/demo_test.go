package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"provision/bench/sim"
)

// The embedded default: `provision demo` provisions every bundled entry with
// verified bytes, from its own simulator, whatever the caller's environment.
func TestDemoProvisionsEveryEntry(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo is throttled to be watched; skipped with -short")
	}
	models := filepath.Join(t.TempDir(), "models")
	env := map[string]string{
		"PROVISION_MODELS_DIR": models,
		"HF_TOKEN":             "hf_from_the_users_shell", // the demo must not use it
		"DRY_RUN":              "true",                    // nor this
	}
	var out bytes.Buffer
	code := run(context.Background(), []string{"provision", "demo"}, &out, &out,
		func(k string) string { return env[k] })
	if code != 0 {
		t.Fatalf("demo exit %d:\n%s", code, out.String())
	}

	cat := sim.DefaultCatalog()
	cat.Scale(8)                                  // as the demo does
	s, err := sim.Start(sim.Config{Catalog: cat}) // completes the catalog's digests
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	hf := func(repo, path string) *sim.RepoFile {
		for _, r := range cat.Repos {
			if r.ID == repo {
				return r.File(path)
			}
		}
		t.Fatalf("no %s in the catalog", repo)
		return nil
	}
	want := map[string]string{
		"checkpoints/flux1-dev.safetensors": hf("black-forest-labs/FLUX.1-dev",
			"flux1-dev.safetensors").SHA256(),
		"checkpoints/sd_xl_base_1.0.safetensors": hf("stabilityai/stable-diffusion-xl-base-1.0",
			"sd_xl_base_1.0.safetensors").SHA256(),
		"loras/add_detail.safetensors":  cat.Version(135867).Files[0].SHA256(),
		"vae/my-custom-vae.safetensors": cat.File("private/model.safetensors").SHA256(),
	}
	for _, f := range hf("username/embeddings-collection", "README.md").Repo().Files {
		want["embeddings/embeddings-pack/"+f.Path] = f.SHA256()
	}
	for rel, digest := range want {
		b, err := os.ReadFile(filepath.Join(models, rel))
		if err != nil {
			t.Errorf("demo left no %s: %v", rel, err)
			continue
		}
		sum := sha256.Sum256(b)
		if hex.EncodeToString(sum[:]) != digest {
			t.Errorf("%s: wrong bytes", rel)
		}
	}
}
