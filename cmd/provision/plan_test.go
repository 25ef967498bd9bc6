package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"provision/bench/sim"
	"provision/store"
)

// mistakes is a manifest of everything users get wrong, one entry per
// mistake, plus one good entry; http://files.sim is the plain file host.
const mistakes = `
[models.checkpoints]
sdxl = { repo = "stabilityai/stable-diffusion-xl-base-1.0", file = "sd_xl_base_1.0.safetensors" }
flux = { repo = "black-forest-labs/FLUX.1-dev", file = "flux1-dev.safetensors" }
typo-file = { repo = "stabilityai/stable-diffusion-xl-base-1.0",
  file = "sd_xl_base_1.safetensors" }
bad-rev = { repo = "stabilityai/stable-diffusion-xl-base-1.0",
  file = "sd_xl_base_1.0.safetensors", revision = "v9", filename = "old.safetensors" }
private = { repo = "acme/private-model", file = "model.safetensors" }
model-id = { source = "civitai", model_id = "100" }
[models.lora]
walled = { model_id = "42" }
early = { model_id = "43" }
archived = { model_id = "44" }
no-downloads = { model_id = "45" }
ambiguous = { model_id = "202", format = "SafeTensor" }
no-match = { model_id = "202", fp = "bf16" }
no-version = { model_id = "999999" }
page = "http://files.sim/github.com/someone/models/tree/main"
gone = "http://files.sim/nothing/here.safetensors"
[models.vae]
private = { url = "http://files.sim/private/model.safetensors" }
`

// TestPlanOneLinePerMistake: provision plan on a manifest full of
// mistakes exits 1, shows every entry in the table with a status that
// says why, and prints exactly one actionable sentence per bad entry
// naming the entry and the fix.
func TestPlanOneLinePerMistake(t *testing.T) {
	h := newHarness(t, sim.Config{})
	code, out := h.run(context.Background(), "plan", h.manifest(mistakes))
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, out)
	}
	hub, civ, files := h.sim.HubURL, h.sim.CivitAIURL, h.sim.FilesURL
	want := []string{
		"models.checkpoints.flux: HuggingFace says black-forest-labs/FLUX.1-dev is gated " +
			"and needs a token; no token was sent; set HF_TOKEN to a token of an account " +
			"that accepted the " +
			"license at " + hub + "/black-forest-labs/FLUX.1-dev",
		"models.checkpoints.typo-file: HuggingFace repo stabilityai/stable-diffusion-xl-base-1.0 " +
			"has no file sd_xl_base_1.safetensors at revision main (no token was sent); check " +
			"the file path at " + hub + "/stabilityai/stable-diffusion-xl-base-1.0/tree/main",
		"models.checkpoints.bad-rev: HuggingFace repo stabilityai/stable-diffusion-xl-base-1.0 " +
			"has no revision \"v9\" (no token was sent); use a branch, tag or commit that " +
			"exists at " + hub + "/stabilityai/stable-diffusion-xl-base-1.0",
		"models.checkpoints.private: HuggingFace repo acme/private-model is private or does " +
			"not exist (no token was sent); check the repo name, or set HF_TOKEN if it is " +
			"private",
		"models.checkpoints.model-id: CivitAI id 100 is a model (\"Multi Format\"), not a " +
			"model version; set model_id to one of its version ids: 203 (v3.0), 202 (v2.0), " +
			"201 (v1.0)",
		"models.lora.walled: CivitAI requires a login to download version 42 and no token " +
			"was sent (CivitAI says: The creator of this asset requires you to be logged in " +
			"to download it); set CIVITAI_TOKEN to an API key from " + civ + "/user/account",
		"models.lora.early: CivitAI version 43 is in early access until " +
			sim.EarlyAccessDeadline.UTC().Format("2006-01-02T15:04:05Z07:00") +
			" (no token was sent); buy early access on " + civ +
			"/models/4300?modelVersionId=43 with the token's account, or wait for the deadline",
		"models.lora.archived: CivitAI version 44 was archived and its files are no longer " +
			"available; pick another version on " + civ + "/models/4400?modelVersionId=44",
		"models.lora.no-downloads: CivitAI says the creator disabled downloads of version 45 " +
			"(no token was sent); pick another version on " + civ +
			"/models/4500?modelVersionId=45",
		"models.lora.ambiguous: 3 files of CivitAI version 202 match format=\"SafeTensor\": " +
			"1 (multiFormat_v20_fp16.safetensors, Model, SafeTensor, fp16, pruned, 2.0 MB, " +
			"primary); 2 (multiFormat_v20_fp8.safetensors, Model, SafeTensor, fp8, pruned, " +
			"1.0 MB); 3 (multiFormat_v20_vae.safetensors, VAE, SafeTensor, fp16, 160 KB); " +
			"add file_id (or type, format, fp, size) to pick one",
		"models.lora.no-match: no file of CivitAI version 202 matches fp=\"bf16\"; the files " +
			"are: 1 (multiFormat_v20_fp16.safetensors, Model, SafeTensor, fp16, pruned, " +
			"2.0 MB, primary); 2 (multiFormat_v20_fp8.safetensors, Model, SafeTensor, fp8, " +
			"pruned, 1.0 MB); 3 (multiFormat_v20_vae.safetensors, VAE, SafeTensor, fp16, " +
			"160 KB); set file_id, type, format, fp or size to match one",
		"models.lora.no-version: CivitAI has no model version 999999; model_id must be a " +
			"version id: the number after modelVersionId= in the model page's address",
		"models.lora.page: " + files + "/github.com/someone/models/tree/main has no file " +
			"there (404); check the url",
		"models.lora.gone: " + files + "/nothing/here.safetensors has no file there (404); " +
			"check the url",
		"models.vae.private: " + files + "/private/model.safetensors asks for credentials " +
			"(403) and the entry sends no headers; add headers = { Authorization = " +
			"\"Bearer ${TOKEN}\" } to the entry",
	}
	_, after, ok := strings.Cut(out, "\nwill fail:\n")
	if !ok {
		t.Fatalf("no \"will fail:\" section:\n%s", out)
	}
	list, _, _ := strings.Cut(after, "\n\n")
	got := strings.Split(list, "\n")
	for i := range got {
		got[i] = strings.TrimPrefix(got[i], "  - ")
	}
	if len(got) != len(want) {
		t.Errorf("%d failure lines, want %d:\n%s", len(got), len(want), list)
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Errorf("line %d:\n got  %s\n want %s", i, got[i], want[i])
		}
	}

	// The table: one row per entry, the status saying why in a few words.
	status := map[string]string{
		"models.checkpoints.sdxl": "missing", "models.checkpoints.flux": "will fail: token required",
		"models.checkpoints.typo-file": "will fail: file not found",
		"models.checkpoints.bad-rev":   "will fail: revision not found",
		"models.checkpoints.private":   "will fail: repo private or missing",
		"models.checkpoints.model-id":  "will fail: model id, not version",
		"models.lora.walled":           "will fail: token required",
		"models.lora.early":            "will fail: early access",
		"models.lora.archived":         "will fail: archived",
		"models.lora.no-downloads":     "will fail: access not granted",
		"models.lora.ambiguous":        "will fail: several files match",
		"models.lora.no-match":         "will fail: no file matches",
		"models.lora.no-version":       "will fail: version not found",
		"models.lora.page":             "will fail: file not found",
		"models.lora.gone":             "will fail: file not found",
		"models.vae.private":           "will fail: token required",
	}
	for entry, st := range status {
		re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(entry) + ` .*  ` +
			regexp.QuoteMeta(st) + `$`)
		if !re.MatchString(out) {
			t.Errorf("no table row for %s with status %q:\n%s", entry, st, out)
		}
	}
	size := h.sim.Catalog.Repo("stabilityai/stable-diffusion-xl-base-1.0").
		File("sd_xl_base_1.0.safetensors").Size
	row := regexp.MustCompile(`(?m)^models\.checkpoints\.sdxl +huggingface +` +
		`sd_xl_base_1\.0\.safetensors +` + regexp.QuoteMeta(store.HumanBytes(size)) +
		` +known +checkpoints/sd_xl_base_1\.0\.safetensors +missing$`)
	if !row.MatchString(out) {
		t.Errorf("the good entry's row is not entry, source, file, size, sha256, target, "+
			"status:\n%s", out)
	}
	fetch := regexp.MustCompile(`(?m)^to fetch: ` + regexp.QuoteMeta(store.HumanBytes(size)) +
		`; free in ` + regexp.QuoteMeta(h.models) + `: [0-9.]+ [KMGT]?i?B$`)
	if !fetch.MatchString(out) {
		t.Errorf("no \"to fetch: ...; free in ...\" line:\n%s", out)
	}
	wantTokens := "\ntokens:\n" +
		"  HF_TOKEN: not set, used by 5 entries; needed by models.checkpoints.flux\n" +
		"  CIVITAI_TOKEN: not set, used by 8 entries; needed by models.lora.walled\n" +
		"to fetch: "
	if !strings.Contains(out, wantTokens) {
		t.Errorf("no tokens lines %q:\n%s", wantTokens, out)
	}
	if !strings.HasSuffix(out, "provision: 15 entries would fail\n") {
		t.Errorf("the last line should count the failures:\n%s", out)
	}
}

// planJSON is the exact shape of plan --json.
type planJSON struct {
	Manifest  string `json:"manifest"`
	ModelsDir string `json:"models_dir"`
	Files     []struct {
		Entry      string `json:"entry"`
		Source     string `json:"source"`
		File       string `json:"file"`
		Size       int64  `json:"size"`
		SHA256     bool   `json:"sha256_known"`
		Target     string `json:"target"`
		Status     string `json:"status"`
		Kind       string `json:"kind"`
		Reason     string `json:"reason"`
		Optional   bool   `json:"optional"`
		FetchBytes int64  `json:"fetch_bytes"`
	} `json:"files"`
	FetchBytes int64 `json:"fetch_bytes"`
	FreeBytes  int64 `json:"free_bytes"`
	Tokens     []struct {
		Var      string   `json:"var"`
		Set      bool     `json:"set"`
		Entries  int      `json:"entries"`
		Invalid  bool     `json:"invalid"`
		NeededBy []string `json:"needed_by"`
		Note     string   `json:"note"`
	} `json:"tokens"`
}

// TestPlanJSON: plan --json prints one JSON document and nothing else,
// with a row per file (or per failed entry) and the totals.
func TestPlanJSON(t *testing.T) {
	h := newHarness(t, sim.Config{})
	h.withTokens()
	m := h.manifest(`
[models.checkpoints]
sdxl = { repo = "stabilityai/stable-diffusion-xl-base-1.0", file = "sd_xl_base_1.0.safetensors" }
[models.vae]
sdxl-vae = { repo = "madebyollin/sdxl-vae-fp16-fix", file = "sdxl_vae.safetensors",
  optional = true }
[models.lora]
archived = { model_id = "44" }
`)
	// The VAE is present already: plan must say so and not count it.
	if code, out := h.run(context.Background(), "run", h.manifest(`
[models.vae]
sdxl-vae = { repo = "madebyollin/sdxl-vae-fp16-fix", file = "sdxl_vae.safetensors" }
`)); code != 0 {
		t.Fatalf("setup run: exit %d:\n%s", code, out)
	}
	code, out := h.run(context.Background(), "plan", "--json", m)
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, out)
	}
	doc, tail, _ := strings.Cut(out, "\n}\n")
	var p planJSON
	dec := json.NewDecoder(strings.NewReader(doc + "\n}\n"))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("not the plan's JSON shape: %v\n%s", err, out)
	}
	if tail != "provision: 1 entry would fail\n" {
		t.Errorf("after the JSON: %q", tail)
	}
	repo := h.sim.Catalog.Repo("stabilityai/stable-diffusion-xl-base-1.0")
	sdxl := repo.File("sd_xl_base_1.0.safetensors")
	vae := h.sim.Catalog.Repo("madebyollin/sdxl-vae-fp16-fix").File("sdxl_vae.safetensors")
	if p.ModelsDir != h.models || !strings.HasSuffix(p.Manifest, "provision.toml") ||
		len(p.Files) != 3 || p.FetchBytes != sdxl.Size || p.FreeBytes <= 0 {
		t.Fatalf("plan %+v", p)
	}
	a, b, c := p.Files[0], p.Files[1], p.Files[2]
	if a.Entry != "models.checkpoints.sdxl" || a.Source != "huggingface" ||
		a.File != "sd_xl_base_1.0.safetensors" || a.Size != sdxl.Size || !a.SHA256 ||
		a.Target != h.models+"/checkpoints/sd_xl_base_1.0.safetensors" ||
		a.Status != "missing" || a.FetchBytes != sdxl.Size || a.Kind != "" || a.Reason != "" {
		t.Errorf("missing file row %+v", a)
	}
	if b.Entry != "models.vae.sdxl-vae" || b.Status != "present" || b.Size != vae.Size ||
		b.FetchBytes != 0 || !b.Optional {
		t.Errorf("present file row %+v", b)
	}
	if c.Entry != "models.lora.archived" || c.Source != "civitai" || c.Status != "fail" ||
		c.Kind != "archived" || c.Size != -1 || c.Target != "" ||
		!strings.HasPrefix(c.Reason, "models.lora.archived: CivitAI version 44 was archived") {
		t.Errorf("failed entry row %+v", c)
	}
	if len(p.Tokens) != 2 || p.Tokens[0].Var != "HF_TOKEN" || !p.Tokens[0].Set ||
		p.Tokens[0].Entries != 2 || p.Tokens[0].Invalid || p.Tokens[1].Var != "CIVITAI_TOKEN" ||
		p.Tokens[1].Entries != 1 || !strings.Contains(p.Tokens[1].Note, "cannot check") {
		t.Errorf("tokens %+v", p.Tokens)
	}
	if strings.Contains(out, sim.DemoHFToken) || strings.Contains(out, sim.DemoCivitAIToken) {
		t.Error("a token was printed")
	}
	if !bytes.Contains([]byte(out), []byte(`"sha256_known": true`)) {
		t.Error("field names changed")
	}

	// PROVISION_JSON=true is the same as --json.
	h.env["PROVISION_JSON"] = "true"
	if code, env := h.run(context.Background(), "plan", m); code != 1 ||
		!strings.HasPrefix(env, "{\n") {
		t.Errorf("PROVISION_JSON=true: exit %d:\n%s", code, env)
	}
}

// TestPlanPresentAndFreeSpace: after a run, plan shows the files present
// and nothing to fetch.
func TestPlanPresentAndFreeSpace(t *testing.T) {
	h := newHarness(t, sim.Config{})
	m := h.manifest(`
[models.upscale_models]
ultra = "http://files.sim/models/4x-UltraSharp.pth"
`)
	if code, out := h.run(context.Background(), "run", m); code != 0 {
		t.Fatalf("run: exit %d:\n%s", code, out)
	}
	code, out := h.run(context.Background(), "plan", m)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	f := h.sim.Catalog.File("models/4x-UltraSharp.pth")
	row := regexp.MustCompile(`(?m)^models\.upscale_models\.ultra +url +4x-UltraSharp\.pth +` +
		regexp.QuoteMeta(store.HumanBytes(f.Size)) + ` +- +upscale_models/4x-UltraSharp\.pth +` +
		`present$`)
	if !row.MatchString(out) || !strings.Contains(out, "\nto fetch: 0 B; free in "+h.models+
		": ") || strings.Contains(out, "will fail") {
		t.Errorf("plan after a run:\n%s", out)
	}
}

// TestPlanManifestMistakes: mistakes the manifest itself shows are all
// reported at once, one line each naming the file, the entry, the field
// and the fix, with exit 2 and before any request.
func TestPlanManifestMistakes(t *testing.T) {
	h := newHarness(t, sim.Config{})
	m := h.manifest(`
[models.checkpoints]
a = { repo = "just-a-name", file = "x.safetensors" }
b = { source = "civitai", model_id = "abc" }
c = { url = "ftp://x/y" }
d = { repo = "o/r", file = "x", sha256 = "123" }
e = { url = "https://x/${NOPE" }
f = { repo = "o/r", fil = "x" }
[models.lorra]
g = "https://x/y.safetensors"
`)
	code, out := h.run(context.Background(), "plan", m)
	want := []string{
		"provision: " + m + `: models.checkpoints.a: field repo: "just-a-name" is not ` +
			`"owner/name"; write it as the model page shows it, e.g. ` +
			`"stabilityai/stable-diffusion-xl-base-1.0"`,
		m + `: models.checkpoints.b: field model_id: "abc" is not a number; use the version ` +
			`id from the download link (?modelVersionId=288982)`,
		m + `: models.checkpoints.c: field url: "ftp://x/y" is not an http(s) URL; write the ` +
			`full link, e.g. "https://host/path/model.safetensors"`,
		m + `: models.checkpoints.d: field sha256: "123" is not a sha256; write its 64 hex ` +
			`digits (a "sha256:" prefix is fine)`,
		m + `: models.checkpoints.e: field url: a "${" is not closed; write ${NAME} to use ` +
			`environment variable NAME`,
		m + `: models.checkpoints.f: field fil: unknown field; did you mean file?`,
		m + `: models.checkpoints.f: huggingface entry needs file (or download_all = true)`,
		m + `: models.lorra: unknown category "lorra" (did you mean lora?); valid categories: ` +
			`checkpoints, lora, vae, embeddings, controlnet, upscale_models, inpaint, ` +
			`text_encoder, hypernetworks, clip_vision`,
	}
	if code != 2 || out != strings.Join(want, "\n")+"\n" {
		t.Errorf("exit %d, output\n%s\nwant exit 2 and\n%s", code, out, strings.Join(want, "\n"))
	}
	if n := len(h.sim.Stats().Log); n != 0 {
		t.Errorf("%d requests for a manifest that does not validate", n)
	}
}
