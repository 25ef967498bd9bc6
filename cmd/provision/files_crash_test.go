package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"provision/store"
)

// Files on disk that a download must not damage: links planted where the
// .part or journal go, and a good final file that only a verified one may
// replace.

// A symbolic link planted at the .part path is refused, never followed:
// the file it points at keeps its bytes and no final file appears.
func TestPlantedPartSymlink(t *testing.T) {
	h := faultHarness(t, 1<<20, 3<<20, nil)
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	final := filepath.Join(h.models, "checkpoints", plainName)
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, final+store.PartSuffix); err != nil {
		t.Fatal(err)
	}
	out := h.mustRun(context.Background(), h.plainManifest(), 1)
	if !strings.Contains(out, "models.checkpoints.plain") ||
		!strings.Contains(out, "symbolic link") {
		t.Errorf("the failure should name the entry and the link:\n%s", out)
	}
	wantContent(t, victim, "precious")
	h.wantNoFinal("checkpoints/" + plainName)
}

// A link planted at the journal path is never written through: the journal
// is replaced by a rename (the link itself goes), and the file completes.
func TestPlantedJournalSymlink(t *testing.T) {
	h := faultHarness(t, 1<<20, 24<<20, nil)
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	final := filepath.Join(h.models, "checkpoints", plainName)
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{final + store.JournalSuffix, final + store.JournalSuffix + ".tmp"} {
		os.Remove(p)
		if err := os.Symlink(victim, p); err != nil {
			t.Fatal(err)
		}
		code, out := h.run(context.Background(), "run", h.plainManifest())
		wantContent(t, victim, "precious")
		switch code {
		case 0:
			h.wantPlain()
		case 1:
			h.wantNoFinal("checkpoints/" + plainName)
		default:
			t.Fatalf("exit %d:\n%s", code, out)
		}
		os.Remove(final)
	}
}

func wantContent(t *testing.T, p, want string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil || string(b) != want {
		t.Errorf("%s holds %q (%v), want %q: it was written through a link", p, b, err, want)
	}
}

// A good final file is replaced only by a verified one, by a rename: when
// the source now serves other bytes that fail the manifest's pin, the good
// file stays as it was; when they pass, the new file takes its place while
// the old bytes (still reachable through a hard link) are never touched.
func TestFinalReplacedOnlyByVerified(t *testing.T) {
	const size = 12 << 20
	h := faultHarness(t, 1<<20, size, nil)
	f := h.sim.Catalog.File(plainName)
	oldSum := f.SHA256()
	pinned := func(sum string) string {
		return h.manifest(fmt.Sprintf("[models.checkpoints]\nplain = { url = %q, sha256 = %q }\n",
			"http://files.sim/"+plainName, sum))
	}
	h.mustRun(context.Background(), pinned(oldSum), 0)
	h.wantPlain()
	final := filepath.Join(h.models, "checkpoints", plainName)
	keep := filepath.Join(h.models, "old-copy")
	if err := os.Link(final, keep); err != nil {
		t.Fatal(err)
	}

	// The source changes; the pin names neither version.
	if err := h.sim.Replace(plainName, size); err != nil {
		t.Fatal(err)
	}
	wrong := strings.Repeat("0", 64)
	out := h.mustRun(context.Background(), pinned(wrong), 1)
	if !strings.Contains(out, "models.checkpoints.plain") || !strings.Contains(out, wrong) {
		t.Errorf("the failure should name the entry and the pinned sha256:\n%s", out)
	}
	if got := fileSHA(t, final); got != oldSum {
		t.Fatalf("the good file was changed by a download that failed verification")
	}
	h.wantNothingAt("checkpoints", plainName+".")

	// Pinned to the new bytes: the file is replaced, by a rename.
	h.mustRun(context.Background(), pinned(f.SHA256()), 0)
	h.wantPlain()
	if got := fileSHA(t, keep); got != oldSum {
		t.Errorf("the old file's bytes changed: it was rewritten in place, not replaced")
	}
}
