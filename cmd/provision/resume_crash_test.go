package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"provision/bench/sim"
	"provision/internal/span"
	"provision/store"
)

// Resume after a stop, through the whole command: what a stopped run
// leaves (.part and journal) is resumed only when it is the same file and
// intact, so a rerun fetches only what is missing and never splices two
// versions (CASES C3, C13, a changed remote, damaged leftovers). The
// helpers live in faults_test.go.

// runStopped runs the manifest over conns connections and stops it (as a
// signal would, through the context) after d; it wants exit 130. The sim
// counts a response's bytes only when it ends, so the stop is by time: the
// caller throttles the file so that d falls well inside the transfer, and
// checks afterwards from the sim's counters that it did.
func (h *harness) runStopped(manifest string, d time.Duration, conns int) {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(d, cancel)
	code, out := h.run(ctx, "run", manifest, "--connections", fmt.Sprint(conns))
	if code != exitInterrupted {
		h.t.Fatalf("exit %d, want %d:\n%s", code, exitInterrupted, out)
	}
	if !strings.Contains(out, "interrupted; journals kept") {
		h.t.Errorf("a stopped run should say its journals are kept:\n%s", out)
	}
	// A stop is not a failure: the file is "interrupted", with no reason.
	if strings.Contains(out, "FAILED") || strings.Contains(out, "context canceled") ||
		!strings.Contains(out, "interrupted, ") {
		h.t.Errorf("a stopped file should read as interrupted, not failed:\n%s", out)
	}
}

// wantPartial asserts that the sim served less than size bytes of seed: a
// stopped run really stopped before the end.
func (h *harness) wantPartial(seed string, size int64) {
	h.t.Helper()
	if got := span.Normalize(h.sim.Stats().File(seed).Sent).Total(); got >= size {
		h.t.Fatalf("the stopped run got all %d bytes; the stop came too late", got)
	}
}

// C3: a throttled run is stopped at ~40 %; the .part and journal stay, the
// rerun asks only for the missing ranges and the file is exact.
func TestFaultCancelledRunResumes(t *testing.T) {
	const size = 40 << 20
	h := faultHarness(t, size, 1<<20, nil)
	f := h.hubFile()
	// 4 connections at 8 MiB/s: 1.25 s for the file, stopped at 0.5 s.
	h.faults(faultKey, sim.Faults{ConnRate: 8 << 20})
	h.runStopped(h.hubManifest(), 500*time.Millisecond, 4)
	h.wantPartial(f.Seed(), size)
	final := filepath.Join(h.models, "checkpoints", faultFile)
	for _, p := range []string{final + store.PartSuffix, final + store.JournalSuffix} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("after the stop: %v", err)
		}
	}
	h.wantNoFinal("checkpoints/" + faultFile)
	first := h.settledSent(f.Seed())

	// plan counts what the journal keeps: only the rest is left to fetch,
	// though the preallocated .part already holds the whole file's blocks.
	code, out := h.run(context.Background(), "plan", h.hubManifest(), "--json")
	var plan struct {
		Fetch int64 `json:"fetch_bytes"`
	}
	if err := json.Unmarshal([]byte(out), &plan); err != nil || code != 0 {
		t.Fatalf("plan: exit %d, %v:\n%s", code, err, out)
	}
	if plan.Fetch <= 0 || plan.Fetch >= size {
		t.Errorf("plan: %d bytes to fetch after a stopped run, want some but not all %d",
			plan.Fetch, size)
	}
	h.sim.ResetStats()

	// The rerun, also over 4 throttled connections (an unthrottled one
	// splits chunks, and a cut request wastes what was in flight: that
	// is not what this test measures).
	h.faults(faultKey, sim.Faults{ConnRate: 32 << 20})
	if code, out := h.run(context.Background(), "run", h.hubManifest(),
		"--connections", "4"); code != 0 {
		t.Fatalf("rerun: exit %d:\n%s", code, out)
	}
	h.wantHub()
	second := h.sim.Stats().File(f.Seed()).Sent
	if got := span.Normalize(append(first, second...)).Total(); got != size {
		t.Errorf("the two runs were served %d distinct bytes, want %d", got, size)
	}
	// A stop through the context commits every written byte: what the
	// rerun asks again is only what was in flight. The bound for a crash
	// is 8 MiB per connection.
	again := overlap(first, second)
	t.Logf("first run %d bytes, rerun %d bytes, %d of them already sent in the first run",
		span.Normalize(first).Total(), span.Normalize(second).Total(), again)
	if again > 4*8<<20 {
		t.Errorf("the rerun fetched %d bytes the first run had fetched, want at most %d",
			again, 4*8<<20)
	}
}

// overlap returns how many bytes of the ranges in second were already in
// first: what a rerun fetched again.
func overlap(first, second []span.Range) int64 {
	had := span.Normalize(first)
	var n int64
	for _, r := range second {
		n += r.Len() - (had.Add(r).Total() - had.Total())
	}
	return n
}

// assertRefetch checks that the sim served every byte of [0,size) and at
// most limit bytes twice.
func assertRefetch(t *testing.T, st sim.FileStats, size, limit int64) {
	t.Helper()
	if got := span.Normalize(st.Sent); got.Total() != size {
		t.Errorf("served ranges cover %d bytes, want %d", got.Total(), size)
	}
	if re := st.Refetched(); re > limit {
		t.Errorf("%d bytes fetched twice, want at most %d", re, limit)
	}
	t.Logf("served %d bytes for a %d-byte file: %d fetched twice", st.Bytes, size, st.Refetched())
}

// plantPart leaves checkpoints/<faultFile>.part and its journal as a run
// that was killed between the last byte and the rename would: every byte of
// the file written and journalled for identity id.
func (h *harness) plantPart(id store.Identity, content bool) string {
	h.t.Helper()
	final := filepath.Join(h.models, "checkpoints", faultFile)
	p, err := store.OpenPart(final, id)
	if err != nil {
		h.t.Fatal(err)
	}
	f := h.hubFile()
	buf := make([]byte, 1<<20)
	for off := int64(0); off < id.Size; off += int64(len(buf)) {
		n := min(int64(len(buf)), id.Size-off)
		if content {
			sim.Content(f.Seed(), off, buf[:n])
		}
		if _, err := p.WriteAt(buf[:n], off); err != nil {
			h.t.Fatal(err)
		}
	}
	if err := p.Commit(span.Range{Start: 0, End: id.Size}); err != nil {
		h.t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		h.t.Fatal(err)
	}
	if _, err := os.Stat(final + store.JournalSuffix); err != nil {
		h.t.Fatalf("planting a complete part left no journal: %v", err)
	}
	return final
}

// C13 (a): the journal shows every byte, no final file, and the server
// answers 416 to any range: verify and rename, exit 0.
func TestFault416OnCompletePart(t *testing.T) {
	const size = 12 << 20
	h := faultHarness(t, size, 1<<20, nil)
	f := h.hubFile()
	h.plantPart(store.Identity{Size: size, SHA256: f.SHA256()}, true)
	h.faults(faultKey, sim.Faults{Always416: true})
	h.mustRun(context.Background(), h.hubManifest(), 0)
	h.wantHub()
	if b := h.sim.Stats().File(f.Seed()).Bytes; b != 0 {
		t.Errorf("%d bytes fetched for a file already complete on disk", b)
	}
	h.wantNothingAt("checkpoints", faultFile+".")
}

// C13 (a): a complete journal whose totals differ from the source is not
// trusted: the file restarts (and with a server refusing every range, fails
// with nothing at the final path).
func TestFault416JournalTotalsDiffer(t *testing.T) {
	const size = 12 << 20
	h := faultHarness(t, size, 1<<20, nil)
	f := h.hubFile()
	h.plantPart(store.Identity{Size: size + 4096, SHA256: strings.Repeat("ab", 32)}, false)
	h.faults(faultKey, sim.Faults{Always416: true})
	h.mustRun(context.Background(), h.hubManifest(), 1)
	h.wantNoFinal("checkpoints/" + faultFile)

	h.plantPart(store.Identity{Size: size + 4096, SHA256: strings.Repeat("ab", 32)}, false)
	h.faults(faultKey, sim.Faults{})
	h.sim.ResetStats()
	h.mustRun(context.Background(), h.hubManifest(), 0)
	h.wantHub()
	// A restart: every byte came from the server again.
	assertRefetch(t, h.sim.Stats().File(f.Seed()), size, size)
}

// A remote that changed between two runs restarts the file: the bytes
// of two versions are never spliced. The hub file is told apart by its
// sha256, the plain file (no sha256) by its ETag.
func TestFaultChangedRemoteBetweenRuns(t *testing.T) {
	const size = 24 << 20
	h := faultHarness(t, size, size, nil)
	cases := []struct {
		name, key string
		seed      func() string
		manifest  string
		want      func()
	}{
		{"hub", otherKey, func() string { return h.otherFile().Seed() }, h.otherManifest(),
			func() {
				h.wantFile("checkpoints/"+otherFile, h.otherFile().SHA256())
			}},
		{"plain", plainName, func() string { return h.sim.Catalog.File(plainName).Seed() },
			h.plainManifest(), h.wantPlain},
	}
	for _, c := range cases {
		h.faults(c.key, sim.Faults{ConnRate: 8 << 20})
		h.runStopped(c.manifest, 600*time.Millisecond, 2)
		h.wantPartial(c.seed(), size)
		if err := h.sim.Replace(c.key, size); err != nil {
			t.Fatal(err)
		}
		h.faults(c.key, sim.Faults{})
		h.mustRun(context.Background(), c.manifest, 0)
		c.want()
		st := h.sim.Stats().File(c.seed())
		if got := span.Normalize(st.Sent).Total(); got != size {
			t.Errorf("%s: new version served %d bytes, want all %d (a restart)", c.name, got, size)
		}
	}
}

// A remote replaced while the download runs: the run fails that file or
// restarts it, and never leaves a file mixing the two versions.
func TestFaultChangedRemoteMidRun(t *testing.T) {
	const size = 24 << 20
	h := faultHarness(t, size, size, nil)
	f := h.sim.Catalog.File(plainName)
	h.faults(plainName, sim.Faults{ConnRate: 8 << 20})
	oldSeed, oldSum := f.Seed(), f.SHA256()
	go func() {
		for h.sim.Stats().File(oldSeed).Bytes < size/3 {
			time.Sleep(2 * time.Millisecond)
		}
		h.sim.Replace(plainName, size)
		h.sim.SetFaults(plainName, sim.Faults{ConnRate: 8 << 20})
	}()
	code, out := h.run(context.Background(), "run", h.plainManifest())
	rel := "checkpoints/" + plainName
	switch code {
	case 0:
		// Finished from answers that began before the change: one
		// version whole, never a mix.
		got := fileSHA(t, filepath.Join(h.models, rel))
		if got != oldSum && got != f.SHA256() {
			t.Fatalf("exit 0 with bytes of neither version (a splice):\n%s", out)
		}
		t.Logf("finished with the %s version", map[bool]string{true: "old", false: "new"}[got == oldSum])
		return
	case 1:
		h.wantNoFinal(rel)
		t.Logf("failed: %s", out)
	default:
		t.Fatalf("exit %d:\n%s", code, out)
	}
	h.faults(plainName, sim.Faults{})
	h.mustRun(context.Background(), h.plainManifest(), 0)
	h.wantPlain()
}

// settledSent waits until the sim has finished every answer (an answer cut
// by a stopped client is counted when its handler notices, which may be
// after the client has gone), then returns the ranges sent of seed.
func (h *harness) settledSent(seed string) []span.Range {
	h.t.Helper()
	end := time.Now().Add(10 * time.Second)
	for {
		st := h.sim.Stats()
		running := 0
		for _, r := range st.Log {
			if r.Status == 0 {
				running++
			}
		}
		if running == 0 {
			return st.File(seed).Sent
		}
		if time.Now().After(end) {
			h.t.Fatalf("%d simulator answers still running", running)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// What a stopped run leaves is damaged before the rerun: a torn journal
// and a truncated .part are not trusted (the file restarts), and a flipped
// byte inside journalled data is caught by the sha256 check (the bad bytes
// are removed, never renamed into place); every path ends in the exact file.
func TestFaultDamagedPartOrJournal(t *testing.T) {
	const size = 24 << 20
	damage := map[string]func(final string) error{
		"torn-journal": func(final string) error {
			return flip(final+store.JournalSuffix, 40)
		},
		"short-part": func(final string) error {
			return os.Truncate(final+store.PartSuffix, 1<<20)
		},
		"flipped-data": func(final string) error { return flip(final+store.PartSuffix, 4096) },
	}
	for name, hurt := range damage {
		t.Run(name, func(t *testing.T) {
			h := faultHarness(t, size, 1<<20, nil)
			h.faults(faultKey, sim.Faults{ConnRate: 8 << 20})
			h.runStopped(h.hubManifest(), 500*time.Millisecond, 2)
			h.wantPartial(h.hubFile().Seed(), size)
			final := filepath.Join(h.models, "checkpoints", faultFile)
			if err := hurt(final); err != nil {
				t.Fatal(err)
			}
			h.faults(faultKey, sim.Faults{})
			code, out := h.run(context.Background(), "run", h.hubManifest())
			if name == "flipped-data" {
				if code != exitFailed || !strings.Contains(out, "sha256") {
					t.Fatalf("exit %d, want %d naming the sha256:\n%s", code, exitFailed, out)
				}
				h.wantNothingAt("checkpoints", faultFile)
				code, out = h.run(context.Background(), "run", h.hubManifest())
			}
			if code != 0 {
				t.Fatalf("exit %d:\n%s", code, out)
			}
			h.wantHub()
		})
	}
}

// flip inverts the byte at off in the file at p.
func flip(p string, off int64) error {
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		return err
	}
	b[0] ^= 0xff
	_, err = f.WriteAt(b, off)
	return err
}
