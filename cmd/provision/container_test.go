package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"provision/bench/sim"
)

// Links through the command: a missing UI folder becomes a link to the
// category folder; an existing real one gets per-file links, and the
// user's own file of the same name is neither replaced nor deleted.
func TestRunLinksIntoUIFolders(t *testing.T) {
	h := newHarness(t, sim.Config{})
	f := h.sim.Catalog.File("models/4x-UltraSharp.pth")
	name := path.Base(f.Name)
	link := filepath.Join(t.TempDir(), "ui-models")
	// The user's own upscaler folder, holding a file of the same name.
	userDir := filepath.Join(link, "ESRGAN")
	if err := os.MkdirAll(userDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(userDir, name), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(userDir, "other.pth"), []byte("also mine"),
		0o644); err != nil {
		t.Fatal(err)
	}
	cfg := h.manifest("[settings]\nlayout = \"a1111\"\n[models.upscale_models]\n" +
		"ultra = \"http://files.sim/" + f.Name + "\"\n" +
		"[models.lora]\nx = { url = \"http://files.sim/" + f.Name + "\", filename = \"x.pth\" }\n")
	code, out := h.run(context.Background(), "run", cfg, "--link-dir", link)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	h.wantFile("ESRGAN/"+name, f.SHA256())
	h.wantFile("Lora/x.pth", f.SHA256())

	// Missing UI folder: a link to the category folder.
	dest, err := os.Readlink(filepath.Join(link, "Lora"))
	if err != nil || dest != filepath.Join(h.models, "Lora") {
		t.Errorf("Lora: link to %q (%v), want %q", dest, err, filepath.Join(h.models, "Lora"))
	}
	// Existing real folder: the user's files untouched, no link over them.
	for file, want := range map[string]string{name: "mine", "other.pth": "also mine"} {
		b, err := os.ReadFile(filepath.Join(userDir, file))
		if err != nil || string(b) != want {
			t.Errorf("user file %s: %q, %v; want %q", file, b, err, want)
		}
		if fi, _ := os.Lstat(filepath.Join(userDir, file)); fi == nil ||
			fi.Mode()&os.ModeSymlink != 0 {
			t.Errorf("user file %s was replaced by a link", file)
		}
	}
	// A second run links again without touching anything.
	if code, out = h.run(context.Background(), "run", cfg, "--link-dir", link); code != 0 {
		t.Fatalf("second run: exit %d:\n%s", code, out)
	}
	if b, _ := os.ReadFile(filepath.Join(userDir, name)); string(b) != "mine" {
		t.Errorf("second run changed the user's file: %q", b)
	}
}

// An existing real UI folder without a clash gets a per-file link.
func TestRunLinksFilesIntoRealFolder(t *testing.T) {
	h := newHarness(t, sim.Config{})
	f := h.sim.Catalog.File("models/4x-UltraSharp.pth")
	link := filepath.Join(t.TempDir(), "ui-models")
	if err := os.MkdirAll(filepath.Join(link, "upscale_models"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := h.manifest("[models.upscale_models]\nultra = \"http://files.sim/" + f.Name + "\"\n")
	h.env["PROVISION_LINK_DIR"] = link
	if code, out := h.run(context.Background(), "run", cfg); code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	at := filepath.Join(link, "upscale_models", path.Base(f.Name))
	dest, err := os.Readlink(at)
	if want := filepath.Join(h.models, "upscale_models", path.Base(f.Name)); err != nil ||
		dest != want {
		t.Errorf("%s links to %q (%v), want %q", at, dest, err, want)
	}
}

// --json prints only JSON events on stdout, in order, with the
// documented fields; the log file gets the same story as slog records.
func TestRunJSONEventsAndLogFile(t *testing.T) {
	h := newHarness(t, sim.Config{})
	f := h.sim.Catalog.File("models/4x-UltraSharp.pth")
	logFile := filepath.Join(t.TempDir(), "logs", "provision.log")
	h.env["PROVISION_LOG_FILE"] = logFile
	h.env["MY_SECRET"] = "s3cr3t-value"
	cfg := h.manifest("[models.upscale_models]\nultra = \"http://files.sim/" + f.Name + "\"\n" +
		"[models.lora]\ngone = { url = \"http://files.sim/none.safetensors\", " +
		"headers = { Authorization = \"Bearer ${MY_SECRET}\" }, optional = true }\n")
	var stdout, stderr strings.Builder
	argv := []string{"provision", "run", cfg, "--json", "--models-dir", h.models}
	code := run(context.Background(), argv, &stdout, &stderr, func(k string) string {
		return h.env[k]
	})
	if code != exitFailed {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, stdout.String(), stderr.String())
	}
	var kinds []string
	var summary map[string]any
	sc := bufio.NewScanner(strings.NewReader(stdout.String()))
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("not a JSON line: %q", sc.Text())
		}
		kind, _ := ev["event"].(string)
		if _, ok := ev["time"].(string); !ok {
			t.Errorf("event without time: %q", sc.Text())
		}
		if kind == "progress" {
			continue // timing-dependent
		}
		kinds = append(kinds, kind)
		switch kind {
		case "file_done":
			if ev["file"] != "upscale_models/"+path.Base(f.Name) || ev["verified"] == nil ||
				ev["size"] != float64(f.Size) {
				t.Errorf("file_done fields: %q", sc.Text())
			}
		case "summary":
			summary = ev
		}
	}
	want := []string{"start", "resolved", "resolve_failed", "file_start", "file_done", "summary"}
	if strings.Join(kinds, " ") != strings.Join(want, " ") {
		t.Errorf("events %v, want %v", kinds, want)
	}
	if summary["exit_code"] != float64(1) || summary["done"] != float64(1) ||
		summary["failed"] != float64(0) || summary["failed_entries"] != float64(1) {
		t.Errorf("summary: %v", summary)
	}
	fails, _ := summary["failures"].([]any)
	if len(fails) != 1 || fails[0].(map[string]any)["entry"] != "models.lora.gone" ||
		fails[0].(map[string]any)["optional"] != true {
		t.Errorf("summary failures: %v", summary["failures"])
	}

	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	log := string(b)
	for _, want := range []string{"msg=start", "config=\"models_dir=", "hf_token=unset",
		"msg=resolved entry=models.upscale_models.ultra files=1",
		"msg=\"file start\" file=upscale_models/", "msg=\"file done\"", "seconds=",
		"msg=\"resolve failed\" entry=models.lora.gone", "msg=summary files=1",
		"exit_code=1"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	for _, out := range []string{stdout.String(), stderr.String(), log} {
		if strings.Contains(out, "s3cr3t") {
			t.Errorf("secret printed:\n%s", out)
		}
	}
}

// The plain lines of a redirected run: elapsed time, one start and one
// done line per file, no bars, no escape codes.
func TestRunPlainLines(t *testing.T) {
	h := newHarness(t, sim.Config{})
	f := h.sim.Catalog.File("models/4x-UltraSharp.pth")
	cfg := h.manifest("[models.upscale_models]\nultra = \"http://files.sim/" + f.Name + "\"\n")
	code, out := h.run(context.Background(), "run", cfg)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	label := "upscale_models/" + path.Base(f.Name)
	for _, want := range []string{"] start       " + label + " (", "] done        " + label +
		"  ", ", size verified\n", "ENTRY  "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("escape codes in redirected output:\n%q", out)
	}
}

// The seed's FLUX manifest with each layout lands in each UI's folders.
func TestSeedFluxInEveryLayout(t *testing.T) {
	want := map[string][]string{
		"fooocus": {"checkpoints/flux1-dev.safetensors", "vae/ae.safetensors",
			"text_encoder/clip_l.safetensors"},
		"comfyui": {"checkpoints/flux1-dev.safetensors", "vae/ae.safetensors",
			"text_encoders/clip_l.safetensors"},
		"a1111": {"Stable-diffusion/flux1-dev.safetensors", "VAE/ae.safetensors",
			"text_encoder/clip_l.safetensors"},
	}
	for layout, files := range want {
		h := newHarness(t, sim.Config{})
		h.withTokens()
		h.env["PROVISION_LAYOUT"] = layout
		link := filepath.Join(t.TempDir(), "ui")
		code, out := h.run(context.Background(), "run", h.seedManifest("seed-flux.toml"),
			"--link-dir", link)
		if code != 0 {
			t.Fatalf("%s: exit %d:\n%s", layout, code, out)
		}
		for _, rel := range files {
			if _, err := os.Stat(filepath.Join(h.models, rel)); err != nil {
				t.Errorf("%s: %v", layout, err)
			}
			if _, err := os.Stat(filepath.Join(link, rel)); err != nil {
				t.Errorf("%s: not visible through the link folder: %v", layout, err)
			}
		}
	}
}
