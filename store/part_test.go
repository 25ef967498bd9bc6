package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"provision/internal/span"
)

// content returns n deterministic bytes.
func content(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// write writes and commits data[r] through p.
func write(t *testing.T, p *Part, data []byte, r span.Range) {
	t.Helper()
	if _, err := p.WriteAt(data[r.Start:r.End], r.Start); err != nil {
		t.Fatalf("WriteAt %v: %v", r, err)
	}
	if err := p.Commit(r); err != nil {
		t.Fatalf("Commit %v: %v", r, err)
	}
}

func TestResumeAfterReopen(t *testing.T) {
	final := filepath.Join(t.TempDir(), "checkpoints", "m.bin")
	data := content(100_000, 1)
	id := Identity{Origin: "https://h/m.bin", Size: int64(len(data)), ETag: "e1"}

	p, err := OpenPart(final, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Have()) != 0 {
		t.Fatalf("fresh part has %v", p.Have())
	}
	committed := []span.Range{rg(0, 10_000), rg(30_000, 45_000), rg(10_000, 12_000)}
	for _, r := range committed {
		write(t, p, data, r)
	}
	// Written but never committed: must not be claimed after a reopen.
	if _, err := p.WriteAt(data[60_000:70_000], 60_000); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := p.WriteAt([]byte{1}, 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("WriteAt after Close: %v", err)
	}

	p, err = OpenPart(final, id)
	if err != nil {
		t.Fatal(err)
	}
	want := span.Set{rg(0, 12_000), rg(30_000, 45_000)}
	if got := p.Have(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Have after reopen = %v, want %v", got, want)
	}
	if got := p.Durable(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Durable after reopen = %v, want %v", got, want)
	}
	for _, r := range want.Missing(id.Size) {
		write(t, p, data, r)
	}
	if err := p.Finish(context.Background()); err != nil {
		t.Fatal(err)
	}
	assertFile(t, final, data)
	assertGone(t, final+PartSuffix, final+JournalSuffix, final+JournalSuffix+".tmp")
}

func assertFile(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if sum(got) != sum(want) {
		t.Fatalf("%s: sha256 %s, want %s", path, sum(got), sum(want))
	}
}

func assertGone(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: still there (%v)", p, err)
		}
	}
}

func TestRestartWhenJournalUntrusted(t *testing.T) {
	data := content(50_000, 2)
	id := Identity{Origin: "u", Size: int64(len(data)), ETag: "v1"}
	cases := []struct {
		name   string
		reopen Identity
		spoil  func(t *testing.T, final string)
		resume bool
	}{
		{name: "same identity", reopen: id, resume: true},
		{name: "other etag", reopen: Identity{Origin: "u", Size: id.Size, ETag: "v2"}},
		{name: "other size", reopen: Identity{Origin: "u", Size: id.Size + 1, ETag: "v1"}},
		{name: "torn journal", reopen: id, spoil: func(t *testing.T, final string) {
			j := final + JournalSuffix
			b, _ := os.ReadFile(j)
			os.WriteFile(j, b[:len(b)-5], 0o644)
		}},
		{name: "corrupt checksum", reopen: id, spoil: func(t *testing.T, final string) {
			j := final + JournalSuffix
			b, _ := os.ReadFile(j)
			for _, slot := range []int{0, len(b) / 2} { // both states
				b[slot+len(journalMagic)+3] ^= 0x20
			}
			os.WriteFile(j, b, 0o644)
		}},
		{name: "part lost, journal left", reopen: id, spoil: func(t *testing.T, final string) {
			os.Remove(final + PartSuffix)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			final := filepath.Join(t.TempDir(), "m.bin")
			p, err := OpenPart(final, id)
			if err != nil {
				t.Fatal(err)
			}
			write(t, p, data, span.Range{Start: 0, End: 20_000})
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
			if c.spoil != nil {
				c.spoil(t, final)
			}
			p, err = OpenPart(final, c.reopen)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			var want span.Set
			if c.resume {
				want = span.Set{rg(0, 20_000)}
			}
			if got := p.Have(); !reflect.DeepEqual(got, want) {
				t.Fatalf("Have = %v, want %v", got, want)
			}
			if !c.resume {
				if _, err := os.Lstat(final + JournalSuffix); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("stale journal kept after restart: %v", err)
				}
			}
		})
	}
}

func TestPlantedSymlinkRefused(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("precious"), 0o644)
	final := filepath.Join(dir, "m.bin")
	if err := os.Symlink(victim, final+PartSuffix); err != nil {
		t.Fatal(err)
	}
	_, err := OpenPart(final, Identity{Size: 10, ETag: "e"})
	if !errors.Is(err, ErrSymlink) {
		t.Fatalf("OpenPart over a planted link: %v", err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Fatalf("victim changed: %q", b)
	}

	// A hard link to a file elsewhere is refused too.
	os.Remove(final + PartSuffix)
	if err := os.Link(victim, final+PartSuffix); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenPart(final, Identity{Size: 10, ETag: "e"}); err == nil {
		t.Fatal("OpenPart through a hard link: no error")
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Fatalf("victim changed: %q", b)
	}
}

func TestLockedBySecondWriter(t *testing.T) {
	final := filepath.Join(t.TempDir(), "m.bin")
	id := Identity{Size: 10, ETag: "e"}
	p, err := OpenPart(final, id)
	if err != nil {
		t.Fatal(err)
	}
	_, err = OpenPart(final, id)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second OpenPart: %v", err)
	}
	want := "lock " + final + ".part: another provision process is writing this file"
	if err.Error() != want {
		t.Fatalf("message %q, want %q", err, want)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	p, err = OpenPart(final, id)
	if err != nil {
		t.Fatalf("OpenPart after Close: %v", err)
	}
	p.Discard()
	assertGone(t, final+PartSuffix, final+JournalSuffix)
}

// TestConcurrentWritesAndPrefixHash writes a file in random order from
// several goroutines with small checkpoints, and checks that the prefix
// hasher's result, the file and the journal all agree.
func TestConcurrentWritesAndPrefixHash(t *testing.T) {
	const size, chunk = 3<<20 + 12345, 64 << 10
	data := content(size, 3)
	final := filepath.Join(t.TempDir(), "m.bin")
	id := Identity{Origin: "u", Size: size, SHA256: sum(data)}
	o := defaults()
	o.syncBytes = 256 << 10
	p, err := openPart(final, id, o)
	if err != nil {
		t.Fatal(err)
	}
	var ranges []span.Range
	for off := int64(0); off < size; off += chunk {
		ranges = append(ranges, span.Range{Start: off, End: min(off+chunk, size)})
	}
	rand.New(rand.NewPCG(4, 4)).Shuffle(len(ranges), func(i, j int) {
		ranges[i], ranges[j] = ranges[j], ranges[i]
	})
	work := make(chan span.Range)
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range work {
				// Write in two halves, committing each, like checkpoints
				// inside a chunk.
				mid := r.Start + r.Len()/2
				for _, h := range []span.Range{rg(r.Start, mid), rg(mid, r.End)} {
					if _, err := p.WriteAt(data[h.Start:h.End], h.Start); err != nil {
						t.Error(err)
					}
					if err := p.Commit(h); err != nil {
						t.Error(err)
					}
				}
			}
		}()
	}
	for _, r := range ranges {
		work <- r
	}
	close(work)
	wg.Wait()
	if err := p.Finish(context.Background()); err != nil {
		t.Fatal(err)
	}
	assertFile(t, final, data)
}

// TestResumeHashesFromZero checks that a resumed part hashes the bytes
// written before the restart too.
func TestResumeHashesFromZero(t *testing.T) {
	data := content(1<<20+7, 5)
	final := filepath.Join(t.TempDir(), "m.bin")
	id := Identity{Origin: "u", Size: int64(len(data)), SHA256: sum(data)}
	p, err := OpenPart(final, id)
	if err != nil {
		t.Fatal(err)
	}
	write(t, p, data, span.Range{Start: 0, End: 600_000})
	p.Close()
	p, err = OpenPart(final, id)
	if err != nil {
		t.Fatal(err)
	}
	write(t, p, data, span.Range{Start: 600_000, End: int64(len(data))})
	if err := p.Finish(context.Background()); err != nil {
		t.Fatal(err)
	}
	assertFile(t, final, data)
}

func TestWriteOutsideSizeRefused(t *testing.T) {
	final := filepath.Join(t.TempDir(), "m.bin")
	p, err := OpenPart(final, Identity{Origin: "u", Size: 10, ETag: "e"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Discard()
	if _, err := p.WriteAt(make([]byte, 5), 8); err == nil {
		t.Error("write past the size accepted")
	}
	if err := p.Commit(span.Range{Start: -1, End: 3}); err == nil {
		t.Error("negative commit accepted")
	}
}

// rg is a short span.Range literal.
func rg(start, end int64) span.Range { return span.Range{Start: start, End: end} }

// The engine's Output, spelled out so this package need not import engine.
var _ interface {
	WriteAt(p []byte, off int64) (int, error)
	Commit(r span.Range) error
} = (*Part)(nil)

func TestPlantedJournalLinksNotFollowed(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("precious"), 0o644)
	final := filepath.Join(dir, "m.bin")
	os.Symlink(victim, final+JournalSuffix)
	os.Symlink(victim, final+JournalSuffix+".tmp")
	data := content(1000, 31)
	p, err := OpenPart(final, Identity{Origin: "u", Size: 1000, ETag: "e"})
	if err != nil {
		t.Fatal(err)
	}
	write(t, p, data, rg(0, 500))
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Fatalf("victim changed: %q", b)
	}
	p, err = OpenPart(final, Identity{Origin: "u", Size: 1000, ETag: "e"})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Have(); !reflect.DeepEqual(got, span.Set{rg(0, 500)}) {
		t.Fatalf("Have = %v", got)
	}
	p.Discard()
}
