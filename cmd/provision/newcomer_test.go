package main

import (
	"context"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"provision/bench/sim"
	"provision/internal/span"
)

// upscaleManifest is one URL entry for the simulator's upscaler; extra is
// added to its inline table (", sha256 = ...").
func (h *harness) upscaleManifest(extra string) (cfg, rel string, f *sim.PlainFile) {
	f = h.sim.Catalog.File("models/4x-UltraSharp.pth")
	cfg = h.manifest("[models.upscale_models]\nultra = { url = \"http://files.sim/" + f.Name +
		"\"" + extra + " }\n")
	return cfg, "upscale_models/" + path.Base(f.Name), f
}

// A UI folder that cannot be linked fails the run (exit 1), says what to
// move away in words, and blocks the launch unless --launch-anyway.
func TestLinkFailureFailsRunAndBlocksLaunch(t *testing.T) {
	h := newHarness(t, sim.Config{})
	cfg, rel, f := h.upscaleManifest("")
	link := filepath.Join(t.TempDir(), "ui")
	if err := os.MkdirAll(link, 0o755); err != nil {
		t.Fatal(err)
	}
	at := filepath.Join(link, "upscale_models")
	if err := os.WriteFile(at, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, rec := runRecorded(t, h, "run", cfg, "--models-dir", h.models,
		"--link-dir", link, "--", "sh")
	if code != exitFailed || rec != nil {
		t.Fatalf("exit %d, launched %v; want 1 and no launch:\n%s", code, rec, out)
	}
	target := filepath.Join(h.models, "upscale_models")
	for _, want := range []string{
		"provision: link " + at + ": it is a file, not a folder; move it away so provision " +
			"can link it to " + target,
		"1 link failed (the UI will not see those models):",
		"not starting sh: 1 link to the UI's folders failed, so it would not see the models; " +
			"fix it (see above) and run again, or set --launch-anyway",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "(----------)") {
		t.Errorf("file mode printed:\n%s", out)
	}
	h.wantFile(rel, f.SHA256())

	// --json: a link_failed event, and the summary's link_failures and exit_code.
	code, out, _ = runRecorded(t, h, "run", cfg, "--models-dir", h.models, "--link-dir", link,
		"--json")
	if code != exitFailed || !strings.Contains(out, `{"event":"link_failed"`) ||
		!strings.Contains(out, `"failed":0,"failed_entries":0,`) ||
		!strings.Contains(out, `"link_failures":["link `+at+`: it is a file, not a folder; `) ||
		!strings.Contains(out, `"exit_code":1}`) {
		t.Errorf("--json: exit %d:\n%s", code, out)
	}

	// A dangling link: named as such; --launch-anyway starts the UI all the same.
	os.Remove(at)
	if err := os.Symlink("/nonexistent/models", at); err != nil {
		t.Fatal(err)
	}
	code, out, rec = runRecorded(t, h, "run", cfg, "--models-dir", h.models,
		"--link-dir", link, "--launch-anyway", "--", "sh")
	if code != 0 || rec == nil {
		t.Fatalf("launch anyway: exit %d, launched %v:\n%s", code, rec, out)
	}
	for _, want := range []string{
		"it is a symbolic link to /nonexistent/models, which does not exist; remove it",
		"starting sh although 1 link to the UI's folders failed: --launch-anyway is set",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// A user's file of the same name in a real UI folder is kept, with one
// line saying the UI will not see the downloaded file.
func TestKeptUserFileWarns(t *testing.T) {
	h := newHarness(t, sim.Config{})
	cfg, rel, f := h.upscaleManifest("")
	link := filepath.Join(t.TempDir(), "ui")
	mine := filepath.Join(link, rel)
	if err := os.MkdirAll(filepath.Dir(mine), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mine, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.env["PROVISION_LOG_FILE"] = filepath.Join(t.TempDir(), "p.log")
	code, out := h.run(context.Background(), "run", cfg, "--link-dir", link)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	want := "note: " + mine + " is your own file, kept; the UI will not see the downloaded " +
		filepath.Join(h.models, rel) + "\n"
	if strings.Count(out, want) != 1 {
		t.Errorf("want the line %q once:\n%s", want, out)
	}
	if b, _ := os.ReadFile(mine); string(b) != "mine" {
		t.Errorf("user's file changed: %q", b)
	}
	if b, _ := os.ReadFile(h.env["PROVISION_LOG_FILE"]); !strings.Contains(string(b),
		`msg="link kept" path=`+mine) {
		t.Errorf("log lacks the kept file:\n%s", b)
	}
	h.wantFile(rel, f.SHA256())
}

// A file at the final path that does not match is shown by plan as
// "replace (...)", announced by run, and replaced by the right bytes.
func TestMismatchedFileReplaced(t *testing.T) {
	h := newHarness(t, sim.Config{})
	f := h.sim.Catalog.File("models/4x-UltraSharp.pth")
	for _, c := range []struct {
		name, content, reason, detail string
	}{
		{"size", "short", "size differs", "size differs: 5 B, expected " + sizeText(f.Size)},
		{"sha256", strings.Repeat("x", int(f.Size)), "sha256 differs", "sha256 differs"},
	} {
		cfg, rel, _ := h.upscaleManifest(", sha256 = \"" + f.SHA256() + "\"")
		final := filepath.Join(h.models, rel)
		os.MkdirAll(filepath.Dir(final), 0o755)
		if err := os.WriteFile(final, []byte(c.content), 0o644); err != nil {
			t.Fatal(err)
		}
		code, out := h.run(context.Background(), "plan", cfg)
		if code != 0 || !strings.Contains(out, "replace ("+c.reason+")") ||
			strings.Contains(out, "missing") {
			t.Errorf("%s: plan exit %d, want replace (%s):\n%s", c.name, code, c.reason, out)
		}
		code, out = h.run(context.Background(), "run", cfg)
		want := rel + " is in the models folder but does not match (" + c.detail +
			"); it will be fetched again and replaced"
		if code != 0 || strings.Count(out, want) != 1 {
			t.Errorf("%s: run exit %d, want the line %q once:\n%s", c.name, code, want, out)
		}
		h.wantFile(rel, f.SHA256())
		os.Remove(final)
	}
}

// An unusable --models-dir stops the run before anything is resolved,
// with one message and exit 2.
func TestUnusableModelsDir(t *testing.T) {
	h := newHarness(t, sim.Config{})
	cfg, _, _ := h.upscaleManifest("")
	file := filepath.Join(t.TempDir(), "afile")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ dir, want string }{
		{file, "provision: models-dir " + file + " is a file, not a folder; choose another " +
			"--models-dir\n"},
		{filepath.Join(file, "models"), "provision: models-dir " + filepath.Join(file, "models") +
			": " + file + " is a file, not a folder; choose another --models-dir\n"},
	} {
		code, out, _ := runRecorded(t, h, "run", cfg, "--models-dir", c.dir)
		if code != exitUsage || out != c.want {
			t.Errorf("exit %d, output %q; want 2 and %q", code, out, c.want)
		}
	}
	if os.Geteuid() == 0 {
		return // root writes anywhere
	}
	ro := filepath.Join(t.TempDir(), "ro")
	os.Mkdir(ro, 0o555)
	dir := filepath.Join(ro, "models")
	want := "provision: models-dir " + dir + ": permission denied creating it; choose a " +
		"writable folder\n"
	if code, out, _ := runRecorded(t, h, "run", cfg, "--models-dir", dir); code != exitUsage ||
		out != want {
		t.Errorf("exit %d, output %q; want 2 and %q", code, out, want)
	}
}

// DRY_RUN=true with "-- CMD" plans, and says the launch is skipped.
func TestDryRunSaysLaunchSkipped(t *testing.T) {
	h := newHarness(t, sim.Config{})
	cfg, rel, _ := h.upscaleManifest("")
	h.env["DRY_RUN"] = "true"
	code, out, rec := runRecorded(t, h, "run", cfg, "--models-dir", h.models, "--", "sh")
	if code != 0 || rec != nil {
		t.Fatalf("exit %d, launched %v:\n%s", code, rec, out)
	}
	want := "provision: not starting sh: DRY_RUN is set, so this run only planned; unset " +
		"DRY_RUN to download and launch\n"
	if !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
	if exists(filepath.Join(h.models, rel)) {
		t.Errorf("dry run fetched %s", rel)
	}
}

// A mistyped command or flag gets one line and exit 2, not the help.
func TestUnknownCommandAndFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"runn"}, "provision: unknown command \"runn\"; did you mean run?\n"},
		{[]string{"pln", "x.toml"}, "provision: unknown command \"pln\"; did you mean plan?\n"},
		{[]string{"xyzzy"}, "provision: unknown command \"xyzzy\"; see provision --help\n"},
		{[]string{"run", "--bogus", "x.toml"},
			"provision: unknown flag --bogus; see provision run --help\n"},
		{[]string{"plan", "-z"}, "provision: unknown flag -z; see provision plan --help\n"},
		{[]string{"help", "nosuch"},
			"provision: unknown command \"nosuch\"; see provision --help\n"},
	} {
		var out strings.Builder
		code := run(context.Background(), append([]string{"provision"}, c.args...), &out, &out,
			func(string) string { return "" })
		if code != exitUsage || out.String() != c.want {
			t.Errorf("%q: exit %d, output %q; want 2 and %q", c.args, code, out.String(), c.want)
		}
	}
}

// The totals line counts in words: "1 file", "nothing fetched".
func TestTotalsText(t *testing.T) {
	for _, c := range []struct {
		files, fetched int64
		want           string
	}{
		{1, 0, "1 file, nothing fetched"},
		{3, 0, "3 files, nothing fetched"},
		{2, 3 << 20, "2 files, 3.0 MiB fetched in 2s (1.5 MiB/s)"},
	} {
		if got := totalsText(c.files, c.fetched, 2*time.Second); got != c.want {
			t.Errorf("totalsText(%d, %d) = %q, want %q", c.files, c.fetched, got, c.want)
		}
	}
}

// A rerun after a stopped transfer says what its .part already held: the
// bytes on disk are known before the engine starts, so they are neither
// shown as a fresh start nor counted as speed.
func TestResumeSaysBytesOnDisk(t *testing.T) {
	h := faultHarness(t, 8<<20, 1<<20, nil)
	f := h.hubFile()
	h.faults(faultKey, sim.Faults{ConnRate: 2 << 20})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for ctx.Err() == nil { // stop once 1 MiB has been served
			if span.Normalize(h.sim.Stats().File(f.Seed()).Sent).Total() >= 1<<20 {
				cancel()
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	if code, out := h.run(ctx, "run", h.hubManifest(), "--connections", "2"); code !=
		exitInterrupted {
		t.Fatalf("stopped run: exit %d:\n%s", code, out)
	}
	h.faults(faultKey, sim.Faults{})
	out := h.mustRun(context.Background(), h.hubManifest(), 0)
	re := regexp.MustCompile(`\] resume      checkpoints/` + regexp.QuoteMeta(faultFile) +
		` \(([0-9.]+ [KM]iB) of 8\.0 MiB already on disk\)`)
	if !re.MatchString(out) || strings.Contains(out, "] start       checkpoints/"+faultFile) {
		t.Errorf("want a resume line with the bytes on disk, not a start line:\n%s", out)
	}
	h.wantHub()
}
