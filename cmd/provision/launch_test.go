package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"provision/bench/sim"
	"provision/resolver"
)

func TestSplitCommand(t *testing.T) {
	cases := []struct {
		in         []string
		rest, cmd  []string
		hasCommand bool
	}{
		{[]string{"provision", "run", "a.toml", "--", "python", "x.py", "--listen"},
			[]string{"provision", "run", "a.toml"}, []string{"python", "x.py", "--listen"}, true},
		{[]string{"provision", "run", "--", "sh", "-c", "echo"},
			[]string{"provision", "run"}, []string{"sh", "-c", "echo"}, true},
		{[]string{"provision", "run", "-q", "--"}, []string{"provision", "run", "-q"}, []string{}, true},
		{[]string{"provision", "run", "a.toml"}, []string{"provision", "run", "a.toml"}, nil, false},
		{[]string{"provision", "get", "--", "x"}, []string{"provision", "get", "--", "x"}, nil, false},
	}
	for _, c := range cases {
		rest, cmd, has := splitCommand(c.in)
		if !reflect.DeepEqual(rest, c.rest) || !reflect.DeepEqual(cmd, c.cmd) || has != c.hasCommand {
			t.Errorf("splitCommand(%q) = %q, %q, %v; want %q, %q, %v", c.in, rest, cmd, has,
				c.rest, c.cmd, c.hasCommand)
		}
	}
}

func TestDecideLaunch(t *testing.T) {
	ok := func(key string, optional bool) *entryResult {
		return &entryResult{entry: &resolver.Entry{Key: key, Optional: optional}}
	}
	bad := func(key string, optional bool) *entryResult {
		r := ok(key, optional)
		r.err = errors.New(key + ": model not found")
		return r
	}
	argv := []string{"python", "entry_with_update.py", "--listen"}
	cases := []struct {
		name    string
		results []*entryResult
		anyway  bool
		launch  bool
		why     string
	}{
		{"all present", []*entryResult{ok("a", false), ok("b", true)}, false, true, ""},
		{"optional failed", []*entryResult{ok("a", false), bad("b", true)}, false, true,
			"starting python without 1 optional entry that failed (b)"},
		{"required failed", []*entryResult{bad("a", false), bad("b", true)}, false, false,
			"not starting python: 1 required entry failed (a); fix it and run again, " +
				"mark it optional = true in the manifest, or set --launch-anyway " +
				"(PROVISION_LAUNCH_ANYWAY=1)"},
		{"required failed, anyway", []*entryResult{bad("a", false), bad("c", false)}, true, true,
			"starting python although 2 required entries failed (a, c): --launch-anyway is set"},
	}
	for _, c := range cases {
		p := decideLaunch(c.results, argv, c.anyway)
		if p.launch != c.launch || p.why != c.why || !reflect.DeepEqual(p.argv, argv) {
			t.Errorf("%s: got launch=%v why=%q argv=%q; want launch=%v why=%q", c.name,
				p.launch, p.why, p.argv, c.launch, c.why)
		}
	}
}

// launchHarness runs the command in-process with exec recorded instead of
// done.
type launchRec struct {
	path string
	argv []string
}

func runRecorded(t *testing.T, h *harness, args ...string) (int, string, *launchRec) {
	t.Helper()
	var out bytes.Buffer
	rec := &launchRec{}
	env := &environment{stdout: &out, stderr: &out,
		getenv: func(k string) string { return h.env[k] },
		exec: func(path string, argv, _ []string) error {
			rec.path, rec.argv = path, argv
			return nil
		}}
	code := runEnv(context.Background(), append([]string{"provision"}, args...), env)
	if rec.argv == nil {
		rec = nil
	}
	return code, out.String(), rec
}

func TestRunLaunchesAfterProvisioning(t *testing.T) {
	h := newHarness(t, sim.Config{})
	f := h.sim.Catalog.File("models/4x-UltraSharp.pth")
	cfg := h.manifest("[models.upscale_models]\nultra = \"http://files.sim/" + f.Name + "\"\n" +
		"[models.lora]\nmissing = { url = \"http://files.sim/no/such.safetensors\", " +
		"optional = true }\n")
	code, out, rec := runRecorded(t, h, "run", cfg, "--models-dir", h.models,
		"--", "sh", "-c", "echo hi")
	if code != 0 || rec == nil {
		t.Fatalf("exit %d, launched %v:\n%s", code, rec, out)
	}
	if want := []string{"sh", "-c", "echo hi"}; !reflect.DeepEqual(rec.argv, want) ||
		filepath.Base(rec.path) != "sh" {
		t.Errorf("exec(%q, %q), want sh and %q", rec.path, rec.argv, want)
	}
	if !strings.Contains(out, "starting sh without 1 optional entry that failed "+
		"(models.lora.missing)") || !strings.Contains(out, "provision: starting sh -c 'echo hi'") {
		t.Errorf("output does not say what starts and why:\n%s", out)
	}
	h.wantFile("upscale_models/"+path.Base(f.Name), f.SHA256())

	// A required entry failing blocks the launch, with exit 1.
	cfg = h.manifest("[models.lora]\nmissing = \"http://files.sim/no/such.safetensors\"\n")
	code, out, rec = runRecorded(t, h, "run", cfg, "--models-dir", h.models, "--", "sh")
	if code != exitFailed || rec != nil {
		t.Fatalf("required failure: exit %d, launched %v:\n%s", code, rec, out)
	}
	if !strings.Contains(out, "not starting sh: 1 required entry failed (models.lora.missing)") {
		t.Errorf("no reason for not launching:\n%s", out)
	}
	// ... unless --launch-anyway (or PROVISION_LAUNCH_ANYWAY) says so.
	h.env["PROVISION_LAUNCH_ANYWAY"] = "1"
	code, out, rec = runRecorded(t, h, "run", cfg, "--models-dir", h.models, "--", "sh")
	if code != 0 || rec == nil {
		t.Fatalf("launch anyway: exit %d, launched %v:\n%s", code, rec, out)
	}

	// "--" with nothing after it is a usage error.
	if code, out, _ = runRecorded(t, h, "run", cfg, "--"); code != exitUsage ||
		!strings.Contains(out, "nothing after --") {
		t.Errorf("empty command: exit %d:\n%s", code, out)
	}
}

// The real binary replaces itself with the command: its output and exit
// code are the command's.
func TestRunExecsRealBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "provision")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	h := newHarness(t, sim.Config{})
	f := h.sim.Catalog.File("models/4x-UltraSharp.pth")
	cfg := h.manifest("[models.upscale_models]\nultra = \"http://files.sim/" + f.Name + "\"\n")
	cmd := exec.Command(bin, "run", cfg, "--models-dir", h.models, "--",
		"/bin/sh", "-c", "echo launched; exit 7")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 7 {
		t.Fatalf("exit %v, want 7:\n%s", err, out)
	}
	if !strings.HasSuffix(string(out), "provision: starting /bin/sh -c 'echo launched; exit 7'\n"+
		"launched\n") {
		t.Errorf("output does not end with the launch:\n%s", out)
	}
	h.wantFile("upscale_models/"+path.Base(f.Name), f.SHA256())
}

func TestImplicitRun(t *testing.T) {
	cases := map[string]string{
		"provision my.toml -- python x.py": "provision run my.toml -- python x.py",
		"provision -- python x.py":         "provision run -- python x.py",
		"provision plan my.toml":           "provision plan my.toml",
		"provision --help":                 "provision --help",
		"provision help":                   "provision help",
		"provision rnu":                    "provision rnu",
		"provision ./models.toml":          "provision run ./models.toml",
		"provision":                        "provision",
	}
	for in, want := range cases {
		if got := strings.Join(implicitRun(strings.Fields(in)), " "); got != want {
			t.Errorf("implicitRun(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestShellQuote(t *testing.T) {
	got := shellQuote([]string{"python", "x.py", "--listen", "it's", "",
		"https://u:p@host/m?token=abc", "a b"})
	want := `python x.py --listen 'it'\''s' '' 'https://host/m?…' 'a b'`
	if got != want {
		t.Errorf("shellQuote = %s, want %s", got, want)
	}
}
