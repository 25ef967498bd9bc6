package store

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLink(t *testing.T) {
	root := t.TempDir()
	models, ui := filepath.Join(root, "workspace", "models"), filepath.Join(root, "opt", "models")
	l, err := NewLayout("fooocus", models, ui, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite := func(path, s string) {
		t.Helper()
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// checkpoints: nothing at the UI path yet.
	mustWrite(filepath.Join(models, "checkpoints", "a.safetensors"), "a")
	// loras: the UI ships a real folder with a user's file of the same name
	// as one of ours, plus a download in progress that must not be linked.
	mustWrite(filepath.Join(models, "loras", "mine.safetensors"), "ours")
	mustWrite(filepath.Join(models, "loras", "new.safetensors"), "new")
	mustWrite(filepath.Join(models, "loras", "big.safetensors.part"), "partial")
	mustWrite(filepath.Join(models, "loras", cacheName), "{}")
	mustWrite(filepath.Join(ui, "loras", "mine.safetensors"), "user's")
	// vae: already the right link.
	os.MkdirAll(filepath.Join(models, "vae"), 0o755)
	os.Symlink(filepath.Join(models, "vae"), filepath.Join(ui, "vae"))
	// embeddings: a plain file where the folder should be.
	mustWrite(filepath.Join(ui, "embeddings"), "not a folder")

	done, err := l.Link([]string{"checkpoints", "lora", "vae", "embeddings"})
	if err == nil || !strings.Contains(err.Error(),
		"link "+filepath.Join(ui, "embeddings")+": it is a file, not a folder; move it away") {
		t.Fatalf("Link error = %v", err)
	}
	want := []Linked{
		{filepath.Join(ui, "checkpoints"), filepath.Join(models, "checkpoints"), LinkCreated},
		{filepath.Join(ui, "loras", "mine.safetensors"),
			filepath.Join(models, "loras", "mine.safetensors"), LinkKept},
		{filepath.Join(ui, "loras", "new.safetensors"),
			filepath.Join(models, "loras", "new.safetensors"), LinkCreated},
		{filepath.Join(ui, "vae"), filepath.Join(models, "vae"), LinkPresent},
	}
	if !reflect.DeepEqual(done, want) {
		t.Fatalf("Link did\n%v\nwant\n%v", done, want)
	}
	read := func(p string) string { b, _ := os.ReadFile(p); return string(b) }
	if got := read(filepath.Join(ui, "checkpoints", "a.safetensors")); got != "a" {
		t.Errorf("through the folder link: %q", got)
	}
	if got := read(filepath.Join(ui, "loras", "mine.safetensors")); got != "user's" {
		t.Errorf("user's file changed: %q", got)
	}
	if got := read(filepath.Join(ui, "loras", "new.safetensors")); got != "new" {
		t.Errorf("per-file link: %q", got)
	}
	if got := read(filepath.Join(ui, "embeddings")); got != "not a folder" {
		t.Errorf("file in the way changed: %q", got)
	}
	if _, err := os.Lstat(filepath.Join(ui, "loras", "big.safetensors.part")); err == nil {
		t.Error("a .part file was linked")
	}

	// A second run changes nothing and reports the links as present.
	done, _ = l.Link([]string{"checkpoints", "lora"})
	for _, d := range done {
		if d.Action == LinkCreated {
			t.Errorf("second run created %s", d.Path)
		}
	}
}

func TestLinkNone(t *testing.T) {
	root := t.TempDir()
	for _, linkDir := range []string{"", root} {
		l, err := NewLayout("comfyui", root, linkDir, nil)
		if err != nil {
			t.Fatal(err)
		}
		done, err := l.Link(nil)
		if err != nil || len(done) != 0 {
			t.Errorf("link dir %q: %v %v", linkDir, done, err)
		}
	}
}

// TestLinkA1111Embeddings: A1111 reads embeddings from <webui>/embeddings,
// beside models/, which gets a link to the stored folder.
func TestLinkA1111Embeddings(t *testing.T) {
	root := t.TempDir()
	models, webui := filepath.Join(root, "store"), filepath.Join(root, "webui")
	os.MkdirAll(filepath.Join(webui, "models", "Stable-diffusion"), 0o755)
	l, err := NewLayout("a1111", models, filepath.Join(webui, "models"), nil)
	if err != nil {
		t.Fatal(err)
	}
	final, err := l.Final("embeddings", "neg.pt")
	if err != nil || final != filepath.Join(models, "embeddings", "neg.pt") {
		t.Fatalf("Final = %q, %v", final, err)
	}
	os.MkdirAll(filepath.Dir(final), 0o755)
	os.WriteFile(final, []byte("emb"), 0o644)
	if _, err := l.Link([]string{"embeddings", "checkpoints", "inpaint"}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(webui, "embeddings", "neg.pt")); string(b) != "emb" {
		t.Fatalf("embeddings not reachable from the webui folder: %q", b)
	}
}
