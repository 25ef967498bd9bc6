package resolver

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// env is a getenv for tests.
func env(kv ...string) func(string) string {
	m := make(map[string]string)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func parse(t *testing.T, src string) *Manifest {
	t.Helper()
	m, err := ParseManifest("test.toml", []byte(src), env())
	if err != nil {
		t.Fatalf("ParseManifest: %v", err)
	}
	return m
}

// problemsOf parses src, which must fail validation, and returns each
// problem's text without the origin.
func problemsOf(t *testing.T, src string, getenv func(string) string) []string {
	t.Helper()
	_, err := ParseManifest("test.toml", []byte(src), getenv)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want a *ValidationError, got %T %v", err, err)
	}
	var out []string
	for _, p := range ve.Problems {
		out = append(out, p.Error())
	}
	return out
}

func hf(key, cat, name, repo, file string) *Entry {
	return &Entry{Key: key, Category: cat, Name: name, Source: HuggingFace, Repo: repo,
		File: file, RepoType: "model"}
}

func civit(key, cat, name, version string) *Entry {
	return &Entry{Key: key, Category: cat, Name: name, Source: CivitAI, VersionID: version}
}

func urlEntry(key, cat, name, u string) *Entry {
	return &Entry{Key: key, Category: cat, Name: name, Source: URL, URL: u}
}

func gated(e *Entry) *Entry { e.Gated = true; return e }

func TestParseManifestSeedExamples(t *testing.T) {
	const sdxl = "stabilityai/stable-diffusion-xl-base-1.0"
	all := func(e *Entry) *Entry { e.DownloadAll = true; return e }
	named := func(e *Entry, n string) *Entry { e.Filename = n; return e }
	hdr := func(e *Entry, k, v string) *Entry { e.Headers = map[string]string{k: v}; return e }
	tests := []struct {
		file string
		want []*Entry
	}{
		{"seed-basic-sdxl.toml", []*Entry{
			hf("models.checkpoints.sdxl-base", "checkpoints", "sdxl-base", sdxl,
				"sd_xl_base_1.0.safetensors"),
			hf("models.vae.sdxl-vae", "vae", "sdxl-vae", "madebyollin/sdxl-vae-fp16-fix",
				"sdxl_vae.safetensors"),
			civit("models.lora.detail-enhancer", "lora", "detail-enhancer", "135867"),
		}},
		{"seed-flux.toml", []*Entry{
			gated(hf("models.checkpoints.flux-dev", "checkpoints", "flux-dev",
				"black-forest-labs/FLUX.1-dev", "flux1-dev.safetensors")),
			gated(hf("models.vae.flux-vae", "vae", "flux-vae", "black-forest-labs/FLUX.1-dev",
				"ae.safetensors")),
			hf("models.text_encoder.clip_l", "text_encoder", "clip_l",
				"comfyanonymous/flux_text_encoders", "clip_l.safetensors"),
			hf("models.text_encoder.t5xxl_fp8", "text_encoder", "t5xxl_fp8",
				"comfyanonymous/flux_text_encoders", "t5xxl_fp8_e4m3fn.safetensors"),
		}},
		{"seed-mixed.toml", []*Entry{
			hf("models.checkpoints.sdxl", "checkpoints", "sdxl", sdxl,
				"sd_xl_base_1.0.safetensors"),
			civit("models.checkpoints.juggernaut", "checkpoints", "juggernaut", "288982"),
			urlEntry("models.embeddings.easy-negative", "embeddings", "easy-negative",
				"https://huggingface.co/datasets/gsdf/EasyNegative/resolve/main/"+
					"EasyNegative.safetensors"),
		}},
		{"seed-huggingface.toml", []*Entry{
			hf("models.checkpoints.sdxl-base", "checkpoints", "sdxl-base", sdxl,
				"sd_xl_base_1.0.safetensors"),
			gated(hf("models.checkpoints.flux-dev", "checkpoints", "flux-dev",
				"black-forest-labs/FLUX.1-dev", "flux1-dev.safetensors")),
			all(hf("models.checkpoints.embeddings-pack", "checkpoints", "embeddings-pack",
				"username/embeddings-collection", "")),
		}},
		{"seed-civitai.toml", []*Entry{
			civit("models.checkpoints.juggernaut-xl", "checkpoints", "juggernaut-xl", "288982"),
			civit("models.lora.detail-tweaker", "lora", "detail-tweaker", "135867"),
		}},
		{"seed-url.toml", []*Entry{
			urlEntry("models.upscale_models.upscaler", "upscale_models", "upscaler",
				"https://example.com/model.pth"),
			named(urlEntry("models.upscale_models.custom-vae", "upscale_models", "custom-vae",
				"https://example.com/download?id=123"), "my-custom-vae.safetensors"),
		}},
		{"seed-headers.toml", []*Entry{
			hdr(urlEntry("models.checkpoints.private-model", "checkpoints", "private-model",
				"https://private-server.com/model.safetensors"), "Authorization",
				"Bearer token123"),
		}},
		{"design.toml", []*Entry{
			hf("models.checkpoints.sdxl-base", "checkpoints", "sdxl-base", sdxl,
				"sd_xl_base_1.0.safetensors"),
			gated(hf("models.checkpoints.flux-dev", "checkpoints", "flux-dev",
				"black-forest-labs/FLUX.1-dev", "flux1-dev.safetensors")),
			civit("models.checkpoints.juggernaut", "checkpoints", "juggernaut", "288982"),
			named(civit("models.lora.detail", "lora", "detail", "135867"),
				"detail_tweaker.safetensors"),
			all(hf("models.embeddings.pack", "embeddings", "pack", "user/embeddings", "")),
			urlEntry("models.embeddings.neg", "embeddings", "neg",
				"https://host/path/EasyNegative.safetensors"),
			hdr(urlEntry("models.vae.private", "vae", "private",
				"https://private/m.safetensors"), "Authorization", "Bearer s3cret"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", "manifests", tt.file)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			m, err := ParseManifest(path, data, env("MY_TOKEN", "s3cret"))
			if err != nil {
				t.Fatalf("ParseManifest: %v", err)
			}
			if m.Origin != path {
				t.Errorf("Origin = %q, want %q", m.Origin, path)
			}
			if len(m.Entries) != len(tt.want) {
				t.Fatalf("got %d entries, want %d", len(m.Entries), len(tt.want))
			}
			for i, e := range m.Entries {
				if !reflect.DeepEqual(e, tt.want[i]) {
					t.Errorf("entry %d:\n got %+v\nwant %+v", i, *e, *tt.want[i])
				}
			}
		})
	}
}

func TestParseManifestSeedMultilineInlineTables(t *testing.T) {
	// The seed writes inline tables over several lines with trailing spaces
	// after the commas; TOML 1.1 (BurntSushi/toml v1.6.0) accepts them, and so
	// does a trailing comma before the closing brace.
	m := parse(t, "[models.lora]\nx = { \n    model_id = \"1\",   \n"+
		"    filename = \"a.safetensors\", \n}\n")
	want := civit("models.lora.x", "lora", "x", "1")
	want.Filename = "a.safetensors"
	if !reflect.DeepEqual(m.Entries, []*Entry{want}) {
		t.Errorf("got %+v", *m.Entries[0])
	}
}

func TestParseManifestForms(t *testing.T) {
	m := parse(t, `
[models.lora]
inline = { source = "civitai", model_id = 135867 }
bare = "https://host/dir/a.safetensors"
hub = "hf://owner/repo/sub/dir/b.safetensors"
civ = "civitai://288982"

[models.lora.sub]
source = "civitai"
version_id = "42"

[models.vae]
v = { url = "https://host/v.safetensors" }

[models.lora.later]
model_id = "7"

[models.LoRAs]
after = { model_id = "8" }
`)
	var got []string
	for _, e := range m.Entries {
		got = append(got, e.Key+" "+e.Category+" "+string(e.Source)+" "+e.VersionID+e.URL+
			e.Repo+":"+e.File)
	}
	want := []string{
		"models.lora.inline lora civitai 135867:",
		"models.lora.bare lora url https://host/dir/a.safetensors:",
		"models.lora.hub lora huggingface owner/repo:sub/dir/b.safetensors",
		"models.lora.civ lora civitai 288982:",
		"models.lora.sub lora civitai 42:",
		"models.vae.v vae url https://host/v.safetensors:",
		"models.lora.later lora civitai 7:",
		"models.LoRAs.after lora civitai 8:",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("entries in order:\n got %q\nwant %q", got, want)
	}
}

func TestParseManifestFields(t *testing.T) {
	m := parse(t, `
[models.checkpoints.full]
source = "HF"
repo = "datasets/org/data"
revision = "refs/pr/1"
download_all = true
include = ["*.safetensors", "vae/*"]
exclude = "*.bin"
optional = true
extract = true
sha256 = "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"

[models.checkpoints.pick]
source = "civitai"
version_id = 202
file_id = "2"
type = "Model"
format = "SafeTensor"
fp = "FP8"
size = "Pruned"

[models.vae.priv]
source = "hugging_face"
repo = "org/space-app"
repo_type = "space"
file = "/w.safetensors"
gated = true
`)
	full := &Entry{Key: "models.checkpoints.full", Category: "checkpoints", Name: "full",
		Source: HuggingFace, Repo: "org/data", RepoType: "dataset", Revision: "refs/pr/1",
		DownloadAll: true, Include: []string{"*.safetensors", "vae/*"},
		Exclude: []string{"*.bin"}, Optional: true, Extract: true,
		SHA256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}
	pick := &Entry{Key: "models.checkpoints.pick", Category: "checkpoints", Name: "pick",
		Source: CivitAI, VersionID: "202", FileID: "2", Type: "Model", Format: "SafeTensor",
		FP: "fp8", Size: "pruned"}
	priv := &Entry{Key: "models.vae.priv", Category: "vae", Name: "priv", Source: HuggingFace,
		Repo: "org/space-app", RepoType: "space", File: "w.safetensors", Gated: true}
	for i, want := range []*Entry{full, pick, priv} {
		if !reflect.DeepEqual(m.Entries[i], want) {
			t.Errorf("entry %d:\n got %+v\nwant %+v", i, *m.Entries[i], *want)
		}
	}
}

func TestParseManifestSourceInference(t *testing.T) {
	tests := []struct{ src, want string }{
		{`x = { repo = "a/b", file = "f" }`, "huggingface"},
		{`x = { model_id = "1" }`, "civitai"},
		{`x = { version_id = 1 }`, "civitai"},
		{`x = { model_id = 1, version_id = 1 }`, "civitai"},
		{`x = { url = "http://h/f" }`, "url"},
		{`x = { source = "Hugging-Face", repo = "a/b", file = "f" }`, "huggingface"},
		{`x = { source = "CivitAI", model_id = 3 }`, "civitai"},
		{`x = { source = "direct", url = "https://h/f" }`, "url"},
	}
	for spelling, src := range sourceIndex {
		fields := map[Source]string{HuggingFace: `repo = "a/b", file = "f"`,
			CivitAI: `model_id = 1`, URL: `url = "https://h/f"`}[src]
		tests = append(tests, struct{ src, want string }{
			"x = { source = \"" + strings.ToUpper(spelling) + "\", " + fields + " }",
			string(src)})
	}
	for _, tt := range tests {
		m := parse(t, "[models.vae]\n"+tt.src)
		if got := string(m.Entries[0].Source); got != tt.want {
			t.Errorf("%s: source %q, want %q", tt.src, got, tt.want)
		}
	}
}

func TestParseManifestCategoryAliases(t *testing.T) {
	for _, c := range Categories() {
		for _, spelling := range append([]string{c.Name, strings.ToUpper(c.Name)},
			c.Aliases...) {
			src := "[models." + `"` + spelling + `"]` + "\nx = \"https://h/f\"\n"
			m := parse(t, src)
			if got := m.Entries[0].Category; got != c.Name {
				t.Errorf("[models.%s]: category %q, want %q", spelling, got, c.Name)
			}
		}
	}
	for spelling, want := range map[string]string{
		"Stable-diffusion": "checkpoints", "ESRGAN": "upscale_models", "Lora": "lora",
		"clip-vision": "clip_vision", "text encoders": "text_encoder",
	} {
		if got, ok := CanonicalCategory(spelling); !ok || got != want {
			t.Errorf("CanonicalCategory(%q) = %q, %v; want %q", spelling, got, ok, want)
		}
	}
}

func TestParseManifestExpansion(t *testing.T) {
	src := `
[models.vae.p]
url = "https://h/${DIR}/m.safetensors?token=${TOK}&x=$HOME"
headers = { Authorization = "Bearer ${TOK}", X-Two = "${A}${B}-$NOT" }
`
	m, err := ParseManifest("t.toml", []byte(src), env("DIR", "d", "TOK", "t0k", "A", "1",
		"B", "2"))
	if err != nil {
		t.Fatal(err)
	}
	e := m.Entries[0]
	if e.URL != "https://h/d/m.safetensors?token=t0k&x=$HOME" {
		t.Errorf("URL = %q", e.URL)
	}
	want := map[string]string{"Authorization": "Bearer t0k", "X-Two": "12-$NOT"}
	if !reflect.DeepEqual(e.Headers, want) {
		t.Errorf("Headers = %q, want %q", e.Headers, want)
	}

	// An unset variable is the environment's problem, not the manifest's:
	// the manifest parses and the entry records the first field using one.
	m, err = ParseManifest("t.toml", []byte(src), env("DIR", "d", "A", "1", "B", "2"))
	if err != nil {
		t.Fatalf("an unset variable failed the manifest: %v", err)
	}
	u := m.Entries[0].Unset
	if u == nil || u.Field != "url" || !reflect.DeepEqual(u.Names, []string{"TOK"}) {
		t.Fatalf("Unset = %+v, want field url, names [TOK]", u)
	}
	if _, ok := m.Entries[0].Headers["Authorization"]; ok {
		t.Error("a header with an unset variable was kept")
	}
}

func TestParseManifestSyntaxError(t *testing.T) {
	tests := []struct {
		src  string
		want string
	}{
		{"[models.lora]\nx = { model_id = \"1\" }\ny = { model_id = \"2\" oops }\n",
			"my.toml:3:22: expected a comma or an inline table terminator '}', " +
				"but got 'o' instead"},
		{"[models.lora\n", "my.toml:1:13: expected '.' or ']' to end table name, " +
			"but got '\\n' instead"},
		{"\ufeff[models.lora]\na = \"x\"\na = \"y\"\n",
			"my.toml:3:1: Key 'models.lora.a' has already been defined."},
		{"x = 'é' é\n", "my.toml:1:8: expected a top-level item to end with a newline, " +
			"comment, or EOF, but got 'é' instead"},
		{"[models.lora]\nx = \"https://h/f\n", "my.toml:2:17: strings cannot contain newlines"},
	}
	for _, tt := range tests {
		_, err := ParseManifest("my.toml", []byte(tt.src), env())
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Fatalf("want *SyntaxError, got %T %v", err, err)
		}
		if err.Error() != tt.want {
			t.Errorf("%q:\n got %s\nwant %s", tt.src, err, tt.want)
		}
	}
}

func TestParseManifestEmpty(t *testing.T) {
	m := parse(t, "# nothing yet\n")
	if len(m.Entries) != 0 {
		t.Errorf("entries: %d", len(m.Entries))
	}
}
