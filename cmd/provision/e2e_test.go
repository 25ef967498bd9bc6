package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"provision/bench/sim"
)

// harness runs the real command in-process against a simulator, with an
// environment of its own (nothing leaks in from the machine's).
type harness struct {
	t      *testing.T
	sim    *sim.Sim
	models string
	env    map[string]string
}

func newHarness(t *testing.T, cfg sim.Config) *harness {
	t.Helper()
	s, err := sim.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	h := &harness{t: t, sim: s, models: filepath.Join(t.TempDir(), "models"),
		env: map[string]string{
			"HF_ENDPOINT":      s.HubURL,
			"CIVITAI_ENDPOINT": s.CivitAIURL,
		}}
	return h
}

// manifest writes text as a manifest file, pointing huggingface.co links
// and the placeholder host files.sim at the simulator.
func (h *harness) manifest(text string) string {
	h.t.Helper()
	text = strings.ReplaceAll(text, "https://huggingface.co", h.sim.HubURL)
	text = strings.ReplaceAll(text, "http://files.sim", h.sim.FilesURL)
	p := filepath.Join(h.t.TempDir(), "provision.toml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		h.t.Fatal(err)
	}
	return p
}

func (h *harness) seedManifest(name string) string {
	h.t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		h.t.Fatal(err)
	}
	return h.manifest(string(b))
}

// run runs "provision args..." with the models folder set, returning the
// exit code and everything printed.
func (h *harness) run(ctx context.Context, args ...string) (int, string) {
	h.t.Helper()
	var out bytes.Buffer
	argv := append([]string{"provision"}, args...)
	if len(args) > 0 && args[0] != "demo" {
		argv = append(argv, "--models-dir", h.models)
	}
	code := run(ctx, argv, &out, &out, func(k string) string { return h.env[k] })
	return code, out.String()
}

// wantFile asserts that rel (under the models folder) holds exactly the
// bytes of the simulator's file with that digest.
func (h *harness) wantFile(rel, digest string) {
	h.t.Helper()
	f, err := os.Open(filepath.Join(h.models, rel))
	if err != nil {
		h.t.Errorf("missing %s: %v", rel, err)
		return
	}
	defer f.Close()
	sum := sha256.New()
	if _, err := io.Copy(sum, f); err != nil {
		h.t.Fatal(err)
	}
	if got := hex.EncodeToString(sum.Sum(nil)); got != digest {
		h.t.Errorf("%s: sha256 %s, want %s", rel, got, digest)
	}
}

// wantNothingAt asserts that no file, .part or journal exists for base in dir.
func (h *harness) wantNothingAt(dir, base string) {
	h.t.Helper()
	entries, _ := os.ReadDir(filepath.Join(h.models, dir))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), base) {
			h.t.Errorf("%s/%s exists; want nothing for %s", dir, e.Name(), base)
		}
	}
}

func (h *harness) hfDigest(repo, path string) string {
	h.t.Helper()
	r := h.sim.Catalog.Repo(repo)
	if r == nil || r.File(path) == nil {
		h.t.Fatalf("simulator has no %s/%s", repo, path)
	}
	return r.File(path).SHA256()
}

func (h *harness) civitDigest(version int) string {
	h.t.Helper()
	v := h.sim.Catalog.Version(version)
	if v == nil {
		h.t.Fatalf("simulator has no version %d", version)
	}
	for _, f := range v.Files {
		if f.Primary {
			return f.SHA256()
		}
	}
	h.t.Fatalf("version %d has no primary file", version)
	return ""
}

func (h *harness) withTokens() {
	h.env["HF_TOKEN"] = sim.DemoHFToken
	h.env["CIVITAI_TOKEN"] = sim.DemoCivitAIToken
}

func TestSeedManifestsEndToEnd(t *testing.T) {
	cases := []struct {
		manifest string
		files    func(h *harness) map[string]string // rel -> sha256
	}{
		{"seed-basic-sdxl.toml", func(h *harness) map[string]string {
			return map[string]string{
				"checkpoints/sd_xl_base_1.0.safetensors": h.hfDigest(
					"stabilityai/stable-diffusion-xl-base-1.0", "sd_xl_base_1.0.safetensors"),
				"vae/sdxl_vae.safetensors": h.hfDigest(
					"madebyollin/sdxl-vae-fp16-fix", "sdxl_vae.safetensors"),
				"loras/add_detail.safetensors": h.civitDigest(135867),
			}
		}},
		{"seed-flux.toml", func(h *harness) map[string]string {
			return map[string]string{
				"checkpoints/flux1-dev.safetensors": h.hfDigest(
					"black-forest-labs/FLUX.1-dev", "flux1-dev.safetensors"),
				"vae/ae.safetensors": h.hfDigest("black-forest-labs/FLUX.1-dev", "ae.safetensors"),
				"text_encoder/clip_l.safetensors": h.hfDigest(
					"comfyanonymous/flux_text_encoders", "clip_l.safetensors"),
				"text_encoder/t5xxl_fp8_e4m3fn.safetensors": h.hfDigest(
					"comfyanonymous/flux_text_encoders", "t5xxl_fp8_e4m3fn.safetensors"),
			}
		}},
		{"seed-mixed.toml", func(h *harness) map[string]string {
			return map[string]string{
				"checkpoints/sd_xl_base_1.0.safetensors": h.hfDigest(
					"stabilityai/stable-diffusion-xl-base-1.0", "sd_xl_base_1.0.safetensors"),
				"checkpoints/juggernautXL_v8Rundiffusion.safetensors": h.civitDigest(288982),
				"embeddings/EasyNegative.safetensors": h.hfDigest(
					"gsdf/EasyNegative", "EasyNegative.safetensors"),
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.manifest, func(t *testing.T) {
			h := newHarness(t, sim.Config{})
			h.withTokens()
			code, out := h.run(context.Background(), "run", h.seedManifest(c.manifest))
			if code != 0 {
				t.Fatalf("exit %d, want 0:\n%s", code, out)
			}
			files := c.files(h)
			for rel, digest := range files {
				h.wantFile(rel, digest)
			}
			// Nothing else: no .part, no journal, no stray file (hidden
			// bookkeeping files of the store aside).
			var found []string
			filepath.WalkDir(h.models, func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() && !strings.HasPrefix(d.Name(), ".") {
					rel, _ := filepath.Rel(h.models, p)
					found = append(found, rel)
				}
				return nil
			})
			if len(found) != len(files) {
				t.Errorf("models folder holds %v, want exactly %d files", found, len(files))
			}

			// A second run finds everything present and fetches nothing.
			h.sim.ResetStats()
			code, out = h.run(context.Background(), "run", h.seedManifest(c.manifest))
			if code != 0 {
				t.Fatalf("second run: exit %d:\n%s", code, out)
			}
			for seed, fs := range h.sim.Stats().Files {
				if fs.Bytes > 0 {
					t.Errorf("second run fetched %d bytes of %s again", fs.Bytes, seed)
				}
			}
			if strings.Count(out, "present") < len(files) {
				t.Errorf("second run should report every file present:\n%s", out)
			}
		})
	}
}

func TestGatedWithoutTokenOthersComplete(t *testing.T) {
	h := newHarness(t, sim.Config{})
	code, out := h.run(context.Background(), "run", h.seedManifest("seed-flux.toml"))
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, out)
	}
	for _, want := range []string{"models.checkpoints.flux-dev", "models.vae.flux-vae", "HF_TOKEN"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	h.wantFile("text_encoder/clip_l.safetensors",
		h.hfDigest("comfyanonymous/flux_text_encoders", "clip_l.safetensors"))
	h.wantFile("text_encoder/t5xxl_fp8_e4m3fn.safetensors",
		h.hfDigest("comfyanonymous/flux_text_encoders", "t5xxl_fp8_e4m3fn.safetensors"))
	h.wantNothingAt("checkpoints", "flux1-dev")
	h.wantNothingAt("vae", "ae")
}

// CASES.md C1: a login wall is never saved as the model.
func TestCivitAILoginWall(t *testing.T) {
	h := newHarness(t, sim.Config{})
	m := h.manifest("[models.lora]\nwalled = { source = \"civitai\", model_id = \"42\" }\n")
	code, out := h.run(context.Background(), "run", m)
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, out)
	}
	for _, want := range []string{"models.lora.walled", "42", "CIVITAI_TOKEN"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(h.models, "loras")); len(entries) != 0 {
		t.Errorf("loras folder holds %d entries after a login wall, want none", len(entries))
	}

	h.env["CIVITAI_TOKEN"] = "  " + sim.DemoCivitAIToken + "\n" // pasted with whitespace
	code, out = h.run(context.Background(), "run", m)
	if code != 0 {
		t.Fatalf("with token: exit %d:\n%s", code, out)
	}
	v := h.sim.Catalog.Version(42)
	h.wantFile("loras/"+v.Files[0].Name, v.Files[0].SHA256())
	if strings.Contains(out, sim.DemoCivitAIToken) {
		t.Error("the token was printed")
	}
}

func TestTokensNeverPrinted(t *testing.T) {
	h := newHarness(t, sim.Config{})
	h.env["HF_TOKEN"] = sim.UnapprovedHFToken
	h.env["CIVITAI_TOKEN"] = "civitai-not-valid-0123"
	h.env["MY_KEY"] = "super-secret-header-value"
	m := h.manifest(`
[models.checkpoints]
flux = { repo = "black-forest-labs/FLUX.1-dev", file = "flux1-dev.safetensors" }
walled = { model_id = "42" }
[models.vae]
private = { url = "http://files.sim/private/model.safetensors", headers = { X-Api-Key = "${MY_KEY}" } }
`)
	code, out := h.run(context.Background(), "run", m)
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, out)
	}
	for _, secret := range []string{sim.UnapprovedHFToken, "civitai-not-valid-0123",
		"super-secret-header-value"} {
		if strings.Contains(out, secret) {
			t.Errorf("output contains a secret (%d bytes long)", len(secret))
		}
	}
	if !strings.Contains(out, "request access") {
		t.Errorf("an unapproved token should say to request access:\n%s", out)
	}
}

func TestManifestErrorsExitTwo(t *testing.T) {
	h := newHarness(t, sim.Config{})
	cases := map[string]string{
		"[models.checkpoints]\nx = { repo = \"a/b\", file = \"c\"\n":             "provision.toml:",
		"[models.nonsense]\nx = \"http://files.sim/a\"\n":                        "nonsense",
		"[models.lora]\ndetail = { source = \"civitai\", model_id = \"abc\" }\n": "models.lora.detail",
	}
	for text, want := range cases {
		code, out := h.run(context.Background(), "run", h.manifest(text))
		if code != 2 || !strings.Contains(out, want) {
			t.Errorf("manifest %q: exit %d (want 2), output lacks %q:\n%s", text, code, want, out)
		}
	}
	if code, out := h.run(context.Background(), "run", "/nonexistent/provision.toml"); code != 2 {
		t.Errorf("missing manifest: exit %d, want 2:\n%s", code, out)
	}
}

func TestPlanFetchesNothing(t *testing.T) {
	h := newHarness(t, sim.Config{})
	h.withTokens()
	code, out := h.run(context.Background(), "plan", h.seedManifest("seed-basic-sdxl.toml"))
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, want := range []string{"models.checkpoints.sdxl-base", "sd_xl_base_1.0.safetensors",
		"missing", "to fetch"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	for seed, fs := range h.sim.Stats().Files {
		if fs.Bytes > 1 {
			t.Errorf("plan fetched %d bytes of %s", fs.Bytes, seed)
		}
	}
	if _, err := os.Stat(filepath.Join(h.models, "checkpoints", "sd_xl_base_1.0.safetensors")); err == nil {
		t.Error("plan wrote a model file")
	}

	// DRY_RUN=true makes run a plan.
	h.env["DRY_RUN"] = "true"
	code, out = h.run(context.Background(), "run", h.seedManifest("seed-basic-sdxl.toml"))
	if code != 0 || !strings.Contains(out, "to fetch") {
		t.Fatalf("DRY_RUN run: exit %d:\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(h.models, "checkpoints", "sd_xl_base_1.0.safetensors")); err == nil {
		t.Error("DRY_RUN wrote a model file")
	}
}

func TestGetOneURL(t *testing.T) {
	h := newHarness(t, sim.Config{})
	out := filepath.Join(t.TempDir(), "up.pth")
	f := h.sim.Catalog.File("models/4x-UltraSharp.pth")
	code, text := h.run(context.Background(), "get", "-o", out, h.sim.FilesURL+"/"+f.Name)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, text)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if hex.EncodeToString(sum[:]) != f.SHA256() {
		t.Fatal("get wrote other bytes than the server's")
	}
}

// An invalid HF_TOKEN fails the HuggingFace entries up front, with one
// reason, while the other entries complete.
func TestInvalidHFTokenFailsUpFront(t *testing.T) {
	h := newHarness(t, sim.Config{})
	h.env["HF_TOKEN"] = "hf_not_a_real_token"
	m := h.manifest(`
[models.checkpoints]
sdxl = { repo = "stabilityai/stable-diffusion-xl-base-1.0", file = "sd_xl_base_1.0.safetensors" }
[models.upscale_models]
ultra = "http://files.sim/models/4x-UltraSharp.pth"
`)
	code, out := h.run(context.Background(), "run", m)
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, out)
	}
	if !strings.Contains(out, "models.checkpoints.sdxl: HuggingFace rejected HF_TOKEN as invalid") {
		t.Errorf("want the whoami verdict on the HF entry:\n%s", out)
	}
	if strings.Contains(out, "hf_not_a_real_token") {
		t.Error("the token was printed")
	}
	if n := h.sim.Stats().Requests["hub.resolve"]; n != 0 {
		t.Errorf("%d resolve requests after the token was found invalid, want 0", n)
	}
	h.wantFile("upscale_models/4x-UltraSharp.pth",
		h.sim.Catalog.File("models/4x-UltraSharp.pth").SHA256())
	h.wantNothingAt("checkpoints", "sd_xl_base")
}

// Two entries whose names come from the server and collide never take
// turns overwriting one file: the second fails, naming the first.
func TestEntriesResolvingToOneFile(t *testing.T) {
	h := newHarness(t, sim.Config{})
	m := h.manifest(`
[models.upscale_models]
a = "http://files.sim/download/zen"
b = "http://files.sim/download/zen-ext"
`)
	code, out := h.run(context.Background(), "run", m)
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, out)
	}
	want := "models.upscale_models.b: resolves to upscale_models/青禅_Zen.safetensors, " +
		"the file of models.upscale_models.a; set filename on one of them"
	if !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
}

// A plain file replaced on the server between resolving and fetching is
// never spliced onto the bytes of the earlier version on disk: the engine
// sends the resolved ETag as If-Match, and the stale part is dropped.
func TestRemoteReplacedAfterResolveIsNotSpliced(t *testing.T) {
	h := newHarness(t, sim.Config{})
	const name = "models/4x-UltraSharp.pth"
	f := h.sim.Catalog.File(name)
	entry := "[models.upscale_models]\nultra = \"http://files.sim/" + name + "\"\n"

	// A first run stopped early leaves a journal that names the old ETag.
	if err := h.sim.SetFaults(name, sim.Faults{ConnRate: 256 << 10}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	code, out := h.run(ctx, "run", h.manifest(entry), "--connections", "2")
	cancel()
	if code != exitInterrupted {
		t.Fatalf("first run: exit %d, want %d:\n%s", code, exitInterrupted, out)
	}
	if err := h.sim.SetFaults(name, sim.Faults{}); err != nil {
		t.Fatal(err)
	}

	// In the rerun, another entry's slow server holds the resolve phase
	// open; the file is replaced (same size) after it was resolved.
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(1500 * time.Millisecond)
		http.NotFound(w, r)
	}))
	defer slow.Close()
	go func() {
		time.Sleep(500 * time.Millisecond)
		if err := h.sim.Replace(name, f.Size); err != nil {
			t.Error(err)
		}
	}()
	m := h.manifest(entry + "slow = \"" + slow.URL + "/slow.pth\"\n")
	code, out = h.run(context.Background(), "run", m)
	if code != 1 || !strings.Contains(out, "changed") {
		t.Fatalf("rerun: exit %d, want 1 naming the change:\n%s", code, out)
	}
	h.wantNothingAt("upscale_models", "4x-UltraSharp.pth")

	// The next run fetches the new version whole.
	if code, out = h.run(context.Background(), "run", h.manifest(entry)); code != 0 {
		t.Fatalf("third run: exit %d:\n%s", code, out)
	}
	h.wantFile("upscale_models/4x-UltraSharp.pth", h.sim.Catalog.File(name).SHA256())
}

// A file without a published sha256, replaced on its server by a new
// version of the same size, is fetched again: "present" compares the
// source's ETag recorded when provision finished the file.
func TestSameSizeNewVersionIsFetched(t *testing.T) {
	h := newHarness(t, sim.Config{})
	const name = "models/4x-UltraSharp.pth"
	m := h.manifest("[models.upscale_models]\nultra = \"http://files.sim/" + name + "\"\n")
	if code, out := h.run(context.Background(), "run", m); code != 0 {
		t.Fatalf("first run: exit %d:\n%s", code, out)
	}
	old := h.sim.Catalog.File(name).SHA256()
	if err := h.sim.Replace(name, h.sim.Catalog.File(name).Size); err != nil {
		t.Fatal(err)
	}
	if h.sim.Catalog.File(name).SHA256() == old {
		t.Fatal("the replaced file has the same bytes")
	}
	code, out := h.run(context.Background(), "run", m)
	if code != 0 {
		t.Fatalf("second run: exit %d:\n%s", code, out)
	}
	h.wantFile("upscale_models/4x-UltraSharp.pth", h.sim.Catalog.File(name).SHA256())
	if !strings.Contains(out, "new version") {
		t.Errorf("the rerun should say why it fetches again:\n%s", out)
	}
}
