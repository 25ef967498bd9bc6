package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"provision/bench/sim"
	"provision/internal/span"
	"provision/store"
)

// The disk tests (CASES C8) put the models folder on a small tmpfs, which
// needs root; where mounting is impossible they skip, and the store's own
// tests inject ENOSPC into writes and preallocation instead
// (store.TestDiskFullMidWrite, TestPreallocationNoSpace), which always run.

// smallFS mounts a tmpfs of size bytes at h.models for the rest of the test.
func (h *harness) smallFS(size int64) {
	h.t.Helper()
	if err := os.MkdirAll(h.models, 0o755); err != nil {
		h.t.Fatal(err)
	}
	opts := "size=" + itoa(int(size))
	if err := syscall.Mount("tmpfs", h.models, "tmpfs", 0, opts); err != nil {
		h.t.Skipf("cannot mount a %d-byte tmpfs for the disk-full case (%v); "+
			"store's fault-injecting tests cover it", size, err)
	}
	h.t.Cleanup(func() {
		if err := syscall.Unmount(h.models, syscall.MNT_DETACH); err != nil {
			h.t.Errorf("unmount %s: %v", h.models, err)
		}
	})
}

// C8: a 100 MiB entry into a folder with 64 MiB free is refused before any
// byte is fetched, naming bytes needed, bytes free and the folder.
func TestDiskSpaceCheckedUpFront(t *testing.T) {
	h := faultHarness(t, 100<<20, 1<<20, nil)
	h.smallFS(64 << 20)
	out := h.mustRun(context.Background(), h.hubManifest(), 1)
	for _, want := range []string{"models.checkpoints.big", "need 100.0 MiB in " + h.models,
		"64.0 MiB free"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if b := h.sim.Stats().File(h.hubFile().Seed()).Bytes; b != 0 {
		t.Errorf("%d bytes fetched although the disk cannot hold the file", b)
	}
	h.wantNothingAt("checkpoints", faultFile)
}

// C8: the disk fills while the file downloads. The file stops with an
// error, no final file and a journal whose every byte is right; once space
// is freed, a rerun resumes and the file is exact.
func TestDiskFullMidDownload(t *testing.T) {
	const size = 40 << 20
	h := faultHarness(t, size, 1<<20, nil)
	h.smallFS(64 << 20)
	f := h.hubFile()
	h.faults(faultKey, sim.Faults{ConnRate: 8 << 20}) // 4 connections: 1.25 s
	final := filepath.Join(h.models, "checkpoints", faultFile)
	filler := filepath.Join(h.models, "filler")
	go func() {
		for !exists(final + store.PartSuffix) {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond)
		fill(filler)
	}()
	code, out := h.run(context.Background(), "run", h.hubManifest(), "--connections", "4")
	if code != exitFailed {
		t.Fatalf("exit %d on a full disk, want %d:\n%s", code, exitFailed, out)
	}
	if !strings.Contains(out, "models.checkpoints.big") ||
		!strings.Contains(out, "no space left on device") {
		t.Errorf("the failure should name the entry and the full disk:\n%s", out)
	}
	h.wantNoFinal("checkpoints/" + faultFile)
	first := h.settledSent(f.Seed())
	h.sim.ResetStats()

	// The journal vouches only for right bytes.
	p, err := store.OpenPart(final, store.Identity{Size: size, SHA256: f.SHA256()})
	if err != nil {
		t.Fatal(err)
	}
	have := p.Have()
	data, err := os.ReadFile(final + store.PartSuffix)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range have {
		want := make([]byte, r.Len())
		sim.Content(f.Seed(), r.Start, want)
		if !bytes.Equal(data[r.Start:r.End], want) {
			t.Fatalf("the journal claims %v, which holds other bytes", r)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("journal after ENOSPC: %d bytes in %d ranges", have.Total(), len(have))
	if have.Total() == 0 {
		t.Error("the journal kept nothing of the bytes written before the disk filled")
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	h.faults(faultKey, sim.Faults{ConnRate: 32 << 20})
	if code, out := h.run(context.Background(), "run", h.hubManifest(),
		"--connections", "4"); code != 0 {
		t.Fatalf("rerun after freeing space: exit %d:\n%s", code, out)
	}
	h.wantHub()
	second := h.sim.Stats().File(f.Seed()).Sent
	if again := overlap(first, second); again > 4*8<<20 {
		t.Errorf("the rerun fetched %d bytes again", again)
	}
	if got := span.Normalize(second).Total(); got > size-have.Total() {
		t.Errorf("the rerun fetched %d bytes; %d of %d were journalled", got, have.Total(), size)
	}
}

// fill writes zeros to p until the filesystem is full.
func fill(p string) {
	f, err := os.Create(p)
	if err != nil {
		return
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				return
			}
			// Fill the last partial megabyte too.
			for n := len(buf) / 2; n >= 4096; n /= 2 {
				for {
					if _, err := f.Write(buf[:n]); err != nil {
						break
					}
				}
			}
			return
		}
	}
}
