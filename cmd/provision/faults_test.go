package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"provision/bench/sim"
	"provision/engine"
)

// The fault tests run the whole command against the simulator with one
// file switched to misbehave, and check the one right outcome of each case
// of CASES.md: the exact bytes at the final path, or a clear failure with
// nothing there.

const (
	faultRepo = "org/big"
	faultFile = "big.safetensors" // sha256 known from the hub: verified at the end
	faultKey  = faultRepo + "/" + faultFile
	plainName = "plain.bin" // plain host: no sha256, identity by size and ETag
	// otherFile is a second hub file for Sim.Replace, which gives a
	// replaced .safetensors file content that is not a safetensors file.
	otherFile = "other.bin"
	otherKey  = faultRepo + "/" + otherFile
)

// faultHarness serves one hub file of hubSize bytes and one plain file of
// plainSize bytes, and shortens the engine's idle timeout and backoff so
// that stalls and retries are seen at once.
func faultHarness(t *testing.T, hubSize, plainSize int64, tune func(*engine.Config)) *harness {
	t.Helper()
	cat := &sim.Catalog{
		Repos: []*sim.Repo{{ID: faultRepo, Files: []*sim.RepoFile{
			{Path: faultFile, Size: hubSize}, {Path: otherFile, Size: hubSize}}}},
		Files: []*sim.PlainFile{{Name: plainName, Size: plainSize}},
	}
	h := newHarness(t, sim.Config{Catalog: cat})
	setTuning(t, func(c *engine.Config) {
		c.IdleTimeout = 400 * time.Millisecond
		c.Backoff = func(int) time.Duration { return 5 * time.Millisecond }
		if tune != nil {
			tune(c)
		}
	})
	return h
}

// setTuning installs an engine tuning for the rest of the test.
func setTuning(t *testing.T, f func(*engine.Config)) {
	t.Helper()
	engineTuning = f
	t.Cleanup(func() { engineTuning = nil })
}

func (h *harness) hubManifest() string {
	return h.manifest(fmt.Sprintf("[models.checkpoints]\nbig = { repo = %q, file = %q }\n",
		faultRepo, faultFile))
}

func (h *harness) otherManifest() string {
	return h.manifest(fmt.Sprintf("[models.checkpoints]\nother = { repo = %q, file = %q }\n",
		faultRepo, otherFile))
}

func (h *harness) plainManifest() string {
	return h.manifest("[models.checkpoints]\nplain = \"http://files.sim/" + plainName + "\"\n")
}

func (h *harness) hubFile() *sim.RepoFile { return h.sim.Catalog.Repo(faultRepo).File(faultFile) }

func (h *harness) otherFile() *sim.RepoFile {
	return h.sim.Catalog.Repo(faultRepo).File(otherFile)
}

func (h *harness) faults(key string, f sim.Faults) {
	h.t.Helper()
	if err := h.sim.SetFaults(key, f); err != nil {
		h.t.Fatal(err)
	}
}

// mustRun runs the manifest and fails the test unless it exits with want.
func (h *harness) mustRun(ctx context.Context, manifest string, want int) string {
	h.t.Helper()
	code, out := h.run(ctx, "run", manifest)
	if code != want {
		h.t.Fatalf("exit %d, want %d:\n%s", code, want, out)
	}
	return out
}

func (h *harness) wantHub() {
	h.t.Helper()
	h.wantFile("checkpoints/"+faultFile, h.hubFile().SHA256())
}

func (h *harness) wantPlain() {
	h.t.Helper()
	h.wantFile("checkpoints/"+plainName, h.sim.Catalog.File(plainName).SHA256())
}

// wantNoFinal asserts that nothing is at the final path rel.
func (h *harness) wantNoFinal(rel string) {
	h.t.Helper()
	if _, err := os.Lstat(filepath.Join(h.models, rel)); err == nil {
		h.t.Errorf("%s exists after a failed download", rel)
	}
}

// C2: every chunk's first answer ends at half its bytes; a 0-byte 200.
func TestFaultShortBodies(t *testing.T) {
	for name, f := range map[string]sim.Faults{
		"short": {ShortOnce: true},
		"empty": {EmptyOnce: true},
	} {
		t.Run(name, func(t *testing.T) {
			h := faultHarness(t, 20<<20, 3<<20, nil)
			h.faults("", f)
			h.mustRun(context.Background(), h.hubManifest(), 0)
			h.wantHub()
			h.mustRun(context.Background(), h.plainManifest(), 0)
			h.wantPlain()
		})
	}
}

// C2, retries exhausted: the error shows expected and received bytes, and
// nothing appears at the final path.
func TestFaultShortBodyRetriesExhausted(t *testing.T) {
	h := faultHarness(t, 20<<20, 3<<20, func(c *engine.Config) { c.Retries = -1 })
	// An empty 200 moves nothing: with no retries left it is the end.
	h.faults("", sim.Faults{EmptyOnce: true})
	h.mustRun(context.Background(), h.otherManifest(), 1)
	h.wantNoFinal("checkpoints/" + otherFile)
	out := h.mustRun(context.Background(), h.plainManifest(), 1)
	if !strings.Contains(out, "models.checkpoints.plain") ||
		!strings.Contains(out, fmt.Sprintf("received 0 of %d bytes", 3<<20)) {
		t.Errorf("the failure should show received and expected bytes:\n%s", out)
	}
	h.wantNoFinal("checkpoints/" + plainName)
}

// C5: the signed URL expires while the file is still coming, and a
// connection drops at 10 MiB: the entry is resolved again and only the
// remaining ranges are fetched.
func TestFaultSignedURLExpires(t *testing.T) {
	const size = 24 << 20
	h := faultHarness(t, size, 1<<20, nil)
	f := h.hubFile()
	// Two connections at 5 MiB/s: about 2.4 s, so URLs valid for 1-2 s
	// (expiry is to the second) run out while chunks are still to start.
	h.faults(faultKey, sim.Faults{URLLifetime: 2 * time.Second, DropEvery: 10 << 20,
		ConnRate: 5 << 20})
	if code, out := h.run(context.Background(), "run", h.hubManifest(),
		"--connections", "2"); code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	h.wantHub()
	st := h.sim.Stats()
	if n := st.Requests["hub.resolve"]; n < 2 {
		t.Errorf("%d resolve requests, want the entry resolved again after the expiry", n)
	}
	if n := countStatus(st, "cdn", 403); n == 0 {
		t.Errorf("no request met an expired URL; the test did not test the expiry")
	}
	assertRefetch(t, st.File(f.Seed()), size, 1<<20)
}

func countStatus(st sim.Stats, kind string, status int) int {
	var n int
	for _, r := range st.Log {
		if r.Kind == kind && r.Status == status {
			n++
		}
	}
	return n
}

// C6 (a): half a chunk, then silence with the socket open: the idle timeout
// fires and the chunk continues.
func TestFaultStall(t *testing.T) {
	h := faultHarness(t, 20<<20, 3<<20, nil)
	h.faults("", sim.Faults{StallAfter: 1 << 20})
	h.mustRun(context.Background(), h.hubManifest(), 0)
	h.wantHub()
	h.mustRun(context.Background(), h.plainManifest(), 0)
	h.wantPlain()
}

// C6 (b): a healthy trickle that takes several idle timeouts to finish
// completes: there is no overall deadline.
func TestFaultSlowTrickle(t *testing.T) {
	h := faultHarness(t, 1<<20, 384<<10, func(c *engine.Config) {
		c.IdleTimeout = 300 * time.Millisecond
	})
	h.faults(plainName, sim.Faults{ConnRate: 256 << 10}) // 1.5 s, 5 idle timeouts
	h.mustRun(context.Background(), h.plainManifest(), 0)
	h.wantPlain()
}

// C11: a server that answers every Range with the whole body: the right
// bytes via one stream from zero, also over a .part from an earlier run.
func TestFaultRangeIgnored(t *testing.T) {
	const size = 24 << 20
	h := faultHarness(t, size, 3<<20, nil)
	f := h.hubFile()
	h.faults(faultKey, sim.Faults{ConnRate: 8 << 20})
	h.runStopped(h.hubManifest(), 300*time.Millisecond, 2)
	h.wantPartial(f.Seed(), size)
	h.faults("", sim.Faults{IgnoreRange: true})
	h.faults(faultKey, sim.Faults{IgnoreRange: true})
	h.mustRun(context.Background(), h.hubManifest(), 0)
	h.wantHub()
	h.mustRun(context.Background(), h.plainManifest(), 0)
	h.wantPlain()
}

// C11, with the single stream also dropping: a clear failure or the right
// bytes, never "done" with wrong ones.
func TestFaultRangeIgnoredDrops(t *testing.T) {
	h := faultHarness(t, 20<<20, 3<<20, func(c *engine.Config) { c.Retries = 2 })
	h.faults("", sim.Faults{IgnoreRange: true, DropEvery: 5 << 20})
	code, out := h.run(context.Background(), "run", h.hubManifest())
	switch code {
	case 0:
		h.wantHub()
	case 1:
		h.wantNoFinal("checkpoints/" + faultFile)
		if !strings.Contains(out, "models.checkpoints.big") {
			t.Errorf("the failure does not name the entry:\n%s", out)
		}
	default:
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

// C12: the third chunk once gets an error page (503 HTML, or 403 XML): the
// status is checked before any write and the chunk is retried.
func TestFaultErrorPageInChunk(t *testing.T) {
	for name, xml := range map[string]bool{"503-html": false, "403-xml": true} {
		t.Run(name, func(t *testing.T) {
			h := faultHarness(t, 40<<20, 20<<20, nil)
			h.faults("", sim.Faults{ErrorOnRange: 3, ErrorXML: xml})
			h.mustRun(context.Background(), h.hubManifest(), 0)
			h.wantHub()
			h.mustRun(context.Background(), h.plainManifest(), 0)
			h.wantPlain()
		})
	}
}

// C13 (b): one mid-file chunk gets 416 once: retried, the file is exact.
func TestFaultSpurious416(t *testing.T) {
	h := faultHarness(t, 40<<20, 20<<20, nil)
	h.faults("", sim.Faults{Spurious416: true})
	h.mustRun(context.Background(), h.hubManifest(), 0)
	h.wantHub()
	h.mustRun(context.Background(), h.plainManifest(), 0)
	h.wantPlain()
}

// C13 (b) with no retries left: a failure, never exit 0 with a short file.
func TestFaultSpurious416NoRetries(t *testing.T) {
	h := faultHarness(t, 40<<20, 20<<20, func(c *engine.Config) { c.Retries = -1 })
	h.faults("", sim.Faults{Spurious416: true})
	code, out := h.run(context.Background(), "run", h.plainManifest())
	if code == 0 {
		h.wantPlain()
		return
	}
	if code != 1 || !strings.Contains(out, "416") {
		t.Errorf("exit %d, want 1 naming the 416:\n%s", code, out)
	}
	h.wantNoFinal("checkpoints/" + plainName)
}

// Connections cut every few MiB, with a FIN or a TCP reset: each chunk
// continues from its last written byte.
func TestFaultDrops(t *testing.T) {
	for _, reset := range []bool{false, true} {
		t.Run(fmt.Sprintf("reset=%v", reset), func(t *testing.T) {
			const size = 40 << 20
			h := faultHarness(t, size, 5<<20, nil)
			h.faults("", sim.Faults{DropEvery: 3 << 20, DropReset: reset})
			h.mustRun(context.Background(), h.hubManifest(), 0)
			h.wantHub()
			h.mustRun(context.Background(), h.plainManifest(), 0)
			h.wantPlain()
		})
	}
}

// fileSHA returns the hex sha256 of the file at p.
func fileSHA(t *testing.T, p string) string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sum := sha256.New()
	if _, err := io.Copy(sum, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(sum.Sum(nil))
}

// Several knobs at once, on a file whose answers carry no Content-Length:
// cut bodies, drops with resets, a stall, an error page and a spurious
// 416. The file is exact or the run fails with nothing at the final path.
func TestFaultCombined(t *testing.T) {
	for name, f := range map[string]sim.Faults{
		"chunked-drops": {NoLength: true, DropEvery: 5 << 20, DropReset: true, ShortOnce: true},
		"everything": {ShortOnce: true, DropEvery: 7 << 20, StallAfter: 3 << 20,
			ErrorOnRange: 2, Spurious416: true, Latency: 5 * time.Millisecond},
	} {
		t.Run(name, func(t *testing.T) {
			h := faultHarness(t, 40<<20, 20<<20, nil)
			h.faults("", f)
			for _, c := range []struct {
				manifest, rel string
				want          func()
			}{
				{h.hubManifest(), "checkpoints/" + faultFile, h.wantHub},
				{h.plainManifest(), "checkpoints/" + plainName, h.wantPlain},
			} {
				code, out := h.run(context.Background(), "run", c.manifest)
				switch code {
				case 0:
					c.want()
				case 1:
					t.Logf("failed cleanly:\n%s", out)
					h.wantNoFinal(c.rel)
				default:
					t.Fatalf("exit %d:\n%s", code, out)
				}
			}
		})
	}
}

// A download that outlives many signed URLs (each expiring while more
// chunks are still to start) completes: the refresh bound is on refreshes
// that bring no bytes, not on the length of the download. The sim's clock
// runs 20 times fast, so a URL valid for 5 s lasts a quarter of a second.
func TestFaultSignedURLExpiresManyTimes(t *testing.T) {
	const size = 12 << 20
	base := time.Now()
	cat := &sim.Catalog{Repos: []*sim.Repo{{ID: faultRepo, Files: []*sim.RepoFile{
		{Path: faultFile, Size: size}, {Path: otherFile, Size: 1}}}}}
	h := newHarness(t, sim.Config{Catalog: cat, Now: func() time.Time {
		return base.Add(time.Since(base) * 20)
	}})
	setTuning(t, func(c *engine.Config) {
		c.Backoff = func(int) time.Duration { return 5 * time.Millisecond }
	})
	h.faults(faultKey, sim.Faults{URLLifetime: 5 * time.Second, DropEvery: 1 << 20,
		ConnRate: 8 << 20})
	if code, out := h.run(context.Background(), "run", h.hubManifest(),
		"--connections", "1"); code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	h.wantHub()
	st := h.sim.Stats()
	if n := st.Requests["hub.resolve"]; n <= 4 {
		t.Errorf("%d resolves; the test wants more than the 3 refreshes in a row allowed", n)
	}
	assertRefetch(t, st.File(h.hubFile().Seed()), size, 0)
}
