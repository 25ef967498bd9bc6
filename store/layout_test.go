package store

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestFolders(t *testing.T) {
	cases := []struct{ layout, category, want string }{
		{"fooocus", "lora", "loras"},
		{"", "text_encoder", "text_encoder"},
		{"comfyui", "text_encoder", "text_encoders"},
		{"comfyui", "clip_vision", "clip_vision"},
		{"a1111", "checkpoints", "Stable-diffusion"},
		{"a1111", "lora", "Lora"},
		{"a1111", "upscale_models", "ESRGAN"},
		{"A1111", "embeddings", "embeddings"},
	}
	for _, c := range cases {
		f, err := Folders(c.layout)
		if err != nil {
			t.Fatalf("Folders(%q): %v", c.layout, err)
		}
		if got := f[c.category]; got != c.want {
			t.Errorf("Folders(%q)[%q] = %q, want %q", c.layout, c.category, got, c.want)
		}
	}
	for _, name := range Layouts() {
		f, _ := Folders(name)
		for _, c := range Categories() {
			if f[c] == "" {
				t.Errorf("layout %s has no folder for %s", name, c)
			}
		}
	}
	_, err := Folders("invokeai")
	want := `layout "invokeai": unknown; valid layouts are a1111, comfyui, fooocus`
	if err == nil || err.Error() != want {
		t.Errorf("unknown layout: %v, want %q", err, want)
	}
}

func TestNewLayoutCustom(t *testing.T) {
	root := t.TempDir()
	l, err := NewLayout("fooocus", root, "", map[string]string{"lora": "my/loras"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := l.Final("lora", "a.safetensors")
	if want := filepath.Join(root, "my", "loras", "a.safetensors"); err != nil || got != want {
		t.Errorf("Final = %q, %v; want %q", got, err, want)
	}
	for _, bad := range []map[string]string{
		{"lora": "../outside"}, {"lora": "/abs"}, {"lora": ""}, {"loras": "x"},
	} {
		if _, err := NewLayout("fooocus", root, "", bad); err == nil {
			t.Errorf("NewLayout with folders %v: no error", bad)
		}
	}
}

func TestFinalStaysInside(t *testing.T) {
	root := t.TempDir()
	models := filepath.Join(root, "models")
	outside := filepath.Join(root, "outside")
	for _, d := range []string{filepath.Join(models, "loras"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A symlinked folder inside the category folder leading out of it, and
	// one leading to another place inside it.
	if err := os.Symlink(outside, filepath.Join(models, "loras", "evil")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(models, "loras", "real"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real", filepath.Join(models, "loras", "alias")); err != nil {
		t.Fatal(err)
	}
	l, err := NewLayout("fooocus", models, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	loras := filepath.Join(models, "loras")
	cases := []struct {
		rel, want string
		unsafe    bool
	}{
		{rel: "a.safetensors", want: filepath.Join(loras, "a.safetensors")},
		{rel: "../../x", want: filepath.Join(loras, "x")},
		{rel: "/etc/passwd", want: filepath.Join(loras, "etc", "passwd")},
		{rel: `..\..\win.pt`, want: filepath.Join(loras, "win.pt")},
		{rel: "pack/sub/a.pt", want: filepath.Join(loras, "pack", "sub", "a.pt")},
		{rel: "alias/b.pt", want: filepath.Join(loras, "alias", "b.pt")},
		{rel: "evil/x.pt", unsafe: true},
		{rel: "evil/deeper/x.pt", unsafe: true},
		{rel: "..", unsafe: true},
		{rel: "", unsafe: true},
	}
	for _, c := range cases {
		t.Run(c.rel, func(t *testing.T) {
			got, err := l.Final("lora", c.rel)
			if c.unsafe {
				if !errors.Is(err, ErrUnsafePath) {
					t.Fatalf("Final(%q) = %q, %v; want ErrUnsafePath", c.rel, got, err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("Final(%q) = %q, %v; want %q", c.rel, got, err, c.want)
			}
		})
	}
	if _, err := l.Final("nonsense", "a.pt"); err == nil {
		t.Error("unknown category: no error")
	}
}

// TestDownloadAllPaths: a download_all file keeps the repo's folders.
func TestDownloadAllPaths(t *testing.T) {
	l, err := NewLayout("comfyui", t.TempDir(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	final, err := l.Final("embeddings", "pack/sub/../sub/a.pt")
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(l.ModelsDir, "embeddings", "pack", "sub", "sub", "a.pt")
	if final != want {
		t.Fatalf("Final = %q, want %q", final, want)
	}
	data := content(100, 40)
	if err := download(t, final, Identity{Origin: "u", Size: 100, ETag: "e"}, data); err != nil {
		t.Fatal(err)
	}
	assertFile(t, want, data)
}

// The folders each UI scans, pinned in full: Fooocus's config paths
// (path_checkpoints ../models/checkpoints, path_loras ../models/loras, ...,
// plus the seed's text_encoder and hypernetworks), ComfyUI's folder_paths
// names (text_encoders succeeded clip; inpaint is the inpaint node packs'),
// and A1111/Forge's models/ subfolders (embeddings sit beside models/).
func TestLayoutTablesMatchTheUIs(t *testing.T) {
	want := map[string]map[string]string{
		"fooocus": {"checkpoints": "checkpoints", "lora": "loras", "vae": "vae",
			"embeddings": "embeddings", "controlnet": "controlnet",
			"upscale_models": "upscale_models", "inpaint": "inpaint",
			"text_encoder": "text_encoder", "hypernetworks": "hypernetworks",
			"clip_vision": "clip_vision"},
		"comfyui": {"checkpoints": "checkpoints", "lora": "loras", "vae": "vae",
			"embeddings": "embeddings", "controlnet": "controlnet",
			"upscale_models": "upscale_models", "inpaint": "inpaint",
			"text_encoder": "text_encoders", "hypernetworks": "hypernetworks",
			"clip_vision": "clip_vision"},
		"a1111": {"checkpoints": "Stable-diffusion", "lora": "Lora", "vae": "VAE",
			"embeddings": "embeddings", "controlnet": "ControlNet",
			"upscale_models": "ESRGAN", "inpaint": "Stable-diffusion",
			"text_encoder": "text_encoder", "hypernetworks": "hypernetworks",
			"clip_vision": "clip_vision"},
	}
	for layout, table := range want {
		got, err := Folders(layout)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(table) {
			t.Errorf("%s: %d categories, want %d", layout, len(got), len(table))
		}
		for c, f := range table {
			if got[c] != f {
				t.Errorf("%s: %s -> %q, want %q", layout, c, got[c], f)
			}
		}
	}
	// A1111 reads embeddings from <webui>/embeddings, beside models/.
	l, err := NewLayout("a1111", t.TempDir(), "/opt/webui/models", nil)
	if err != nil {
		t.Fatal(err)
	}
	if l.LinkFolders["embeddings"] != "../embeddings" {
		t.Errorf("a1111 embeddings link folder %q, want ../embeddings", l.LinkFolders["embeddings"])
	}
}
