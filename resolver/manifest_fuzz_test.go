package resolver

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseManifest checks that no input makes ParseManifest panic, that
// every failure is one of its two error types, and that every accepted
// entry is complete.
func FuzzParseManifest(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "manifests", "*.toml"))
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"[models.lora]\na = { model_id = \"x\", modelid = 1 }",
		"[models.lora]\na = \"hf://o/r/f\"\nb = \"civitai://1\"\nc = \"https://h/${X}\"",
		"[settings]\nmax_rate = \"5Mbps\"\n[settings.folders]\nlora = \"Lora\"",
		"[models.\"\"]\n\"\" = {}",
		"[models.vae.x]\nheaders = { A = \"${\" }\nurl = \"https://h/a\"",
		"\x05", // a negative offset in the TOML error once panicked
		"[models.lora]\n0 = { source = \"Civit\" }",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest("fuzz.toml", data, env("X", "1"))
		if err != nil {
			var se *SyntaxError
			var ve *ValidationError
			if !errors.As(err, &se) && !errors.As(err, &ve) {
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			if ve != nil && len(ve.Problems) == 0 {
				t.Fatal("empty ValidationError")
			}
			return
		}
		for _, e := range m.Entries {
			if c, ok := CanonicalCategory(e.Category); !ok || c != e.Category {
				t.Fatalf("%s: category %q is not canonical", e.Key, e.Category)
			}
			ok := e.Source == HuggingFace && e.Repo != "" && (e.File != "") != e.DownloadAll ||
				e.Source == CivitAI && e.VersionID != "" ||
				e.Source == URL && e.URL != ""
			if !ok {
				t.Fatalf("%s: incomplete entry %+v", e.Key, *e)
			}
			if e.SHA256 != "" && len(e.SHA256) != 64 {
				t.Fatalf("%s: sha256 %q", e.Key, e.SHA256)
			}
		}
	})
}
