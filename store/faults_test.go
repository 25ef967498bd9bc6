package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"syscall"
	"testing"

	"provision/internal/span"
)

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

// TestJournalBeforeData: a file larger than one checkpoint has its journal
// as soon as it is opened, so that a checkpoint after the data filled the
// disk rewrites it in place instead of needing new blocks.
func TestJournalBeforeData(t *testing.T) {
	final := filepath.Join(t.TempDir(), "big.bin")
	p, err := OpenPart(final, Identity{Origin: "u", Size: syncBytes + 1})
	if err != nil {
		t.Fatal(err)
	}
	st, _, err := readJournal(final + JournalSuffix)
	if err != nil || len(st.have) != 0 || st.id.Size != syncBytes+1 {
		t.Fatalf("journal at open: %+v, %v; want an empty one for the identity", st, err)
	}
	if err := p.Discard(); err != nil {
		t.Fatal(err)
	}
	assertGone(t, final+JournalSuffix)

	small := filepath.Join(t.TempDir(), "small.bin")
	if p, err = OpenPart(small, Identity{Origin: "u", Size: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	defer p.Discard()
	assertGone(t, small+JournalSuffix)
}
