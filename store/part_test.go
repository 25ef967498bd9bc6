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
	"syscall"
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

// TestDiskFullMidWrite injects ENOSPC into one write: the error comes back
// unchanged, the journal keeps exactly the committed bytes, no final file
// appears, and a rerun resumes.
func TestDiskFullMidWrite(t *testing.T) {
	data := content(200_000, 6)
	final := filepath.Join(t.TempDir(), "m.safetensors.bin")
	id := Identity{Origin: "u", Size: int64(len(data)), SHA256: sum(data)}
	enospc := &os.PathError{Op: "write", Path: final + PartSuffix, Err: syscall.ENOSPC}
	o := defaults()
	o.writeAt = func(f *os.File, b []byte, off int64) (int, error) {
		if off >= 100_000 {
			return 0, enospc
		}
		return f.WriteAt(b, off)
	}
	p, err := openPart(final, id, o)
	if err != nil {
		t.Fatal(err)
	}
	write(t, p, data, span.Range{Start: 0, End: 50_000})
	_, err = p.WriteAt(data[100_000:150_000], 100_000)
	if err != enospc {
		t.Fatalf("WriteAt error = %v, want the injected one unchanged", err)
	}
	write(t, p, data, span.Range{Start: 50_000, End: 100_000})
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	assertGone(t, final)

	p, err = OpenPart(final, id)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Have(), (span.Set{rg(0, 100_000)}); !reflect.DeepEqual(got, want) {
		t.Fatalf("Have after ENOSPC = %v, want %v", got, want)
	}
	write(t, p, data, span.Range{Start: 100_000, End: int64(len(data))})
	if err := p.Finish(context.Background()); err != nil {
		t.Fatal(err)
	}
	assertFile(t, final, data)
}

// TestSyncFailureIsSticky: once a data sync fails, Commit reports it and
// the journal never claims the bytes that sync was meant to cover.
func TestSyncFailureIsSticky(t *testing.T) {
	data := content(100_000, 7)
	final := filepath.Join(t.TempDir(), "m.bin")
	id := Identity{Origin: "u", Size: int64(len(data)), ETag: "e"}
	var mu sync.Mutex
	failing := false
	o := defaults()
	o.syncBytes = 1 << 40 // checkpoints only when the test calls them
	o.syncInterval = 1 << 62
	o.datasync = func(f *os.File) error {
		mu.Lock()
		defer mu.Unlock()
		if failing {
			return syscall.EIO
		}
		return datasync(f)
	}
	p, err := openPart(final, id, o)
	if err != nil {
		t.Fatal(err)
	}
	write(t, p, data, span.Range{Start: 0, End: 10_000})
	p.checkpoint() // make the first range durable deterministically
	mu.Lock()
	failing = true
	mu.Unlock()
	if _, err := p.WriteAt(data[10_000:20_000], 10_000); err != nil {
		t.Fatal(err)
	}
	p.Commit(span.Range{Start: 10_000, End: 20_000})
	if err := p.checkpoint(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("checkpoint error = %v", err)
	}
	if err := p.Commit(span.Range{Start: 0, End: 1}); !errors.Is(err, syscall.EIO) {
		t.Fatalf("Commit after failed sync = %v", err)
	}
	if _, err := p.WriteAt([]byte{0}, 0); !errors.Is(err, syscall.EIO) {
		t.Fatalf("WriteAt after failed sync = %v", err)
	}
	p.Close()
	st, _, err := readJournal(final + JournalSuffix)
	if err != nil || !reflect.DeepEqual(st.have, span.Set{rg(0, 10_000)}) {
		t.Fatalf("journal after failed sync: %v %v", st.have, err)
	}
}

// TestPreallocationNoSpace: ENOSPC from fallocate becomes the Part's error.
func TestPreallocationNoSpace(t *testing.T) {
	final := filepath.Join(t.TempDir(), "m.bin")
	o := defaults()
	o.fallocate = func(*os.File, int64, int64) error { return syscall.ENOSPC }
	o.sparse = func(*os.File) bool { return false } // even when TMPDIR is tmpfs
	p, err := openPart(final, Identity{Origin: "u", Size: 1 << 20, ETag: "e"}, o)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	err = p.Allocated(context.Background())
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Allocated = %v", err)
	}
	if _, err := p.WriteAt([]byte{1}, 0); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("WriteAt after failed preallocation = %v", err)
	}
}

func TestPreallocatesOrExtends(t *testing.T) {
	for _, fallback := range []bool{false, true} {
		final := filepath.Join(t.TempDir(), "m.bin")
		o := defaults()
		o.sparse = func(*os.File) bool { return false }
		if fallback {
			o.fallocate = func(*os.File, int64, int64) error { return errNoFallocate }
		}
		p, err := openPart(final, Identity{Origin: "u", Size: 3 << 20, ETag: "e"}, o)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Allocated(context.Background()); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(final + PartSuffix)
		if err != nil || fi.Size() != 3<<20 {
			t.Fatalf("fallback %v: size %v %v", fallback, fi.Size(), err)
		}
		p.Discard()
	}
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

// TestTmpfsSparse: on tmpfs the part is extended sparsely, not fallocated.
func TestTmpfsSparse(t *testing.T) {
	dir, err := os.MkdirTemp("/dev/shm", "store-test-")
	if err != nil {
		t.Skip("no /dev/shm here")
	}
	defer os.RemoveAll(dir)
	final := filepath.Join(dir, "m.bin")
	p, err := OpenPart(final, Identity{Origin: "u", Size: 64 << 20, ETag: "e"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Discard()
	if !onTmpfs(p.f) {
		t.Skip("/dev/shm is not tmpfs here")
	}
	if err := p.Allocated(t.Context()); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p.Path())
	if err != nil || fi.Size() != 64<<20 || statOf(fi).allocated != 0 {
		t.Fatalf("tmpfs part: size %d, allocated %d, %v", fi.Size(), statOf(fi).allocated, err)
	}
}

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
