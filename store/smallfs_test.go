package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"

	"provision/internal/span"
)

// TestDiskFullReal fills a real small filesystem. It runs only when
// STORE_SMALLFS names an empty folder on a filesystem of about 3 MiB, e.g.
//
//	mount -t tmpfs -o size=3m tmpfs /mnt/small && STORE_SMALLFS=/mnt/small go test ./store
//
// ENOSPC stops the file with a consistent journal and no final file; once
// space is freed, a rerun resumes and finishes.
func TestDiskFullReal(t *testing.T) {
	dir := os.Getenv("STORE_SMALLFS")
	if dir == "" {
		t.Skip("STORE_SMALLFS not set")
	}
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, 2<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(filler)
	data := content(2<<20, 30)
	final := filepath.Join(dir, "m.bin")
	defer os.Remove(final)
	defer os.Remove(filepath.Join(dir, cacheName))
	id := Identity{Origin: "u", Size: int64(len(data)), SHA256: sum(data)}

	o := defaults()
	o.syncBytes = 256 << 10
	p, err := openPart(final, id, o)
	if err != nil {
		t.Fatal(err)
	}
	write(t, p, data, span.Range{Start: 0, End: 1})
	if err := p.checkpoint(); err != nil { // the journal exists before the disk fills
		t.Fatal(err)
	}
	committed := span.Set{{Start: 0, End: 1}}
	const chunk = 128 << 10
	for off := int64(1); off < id.Size; off += chunk {
		r := span.Range{Start: off, End: min(off+chunk, id.Size)}
		if _, err = p.WriteAt(data[r.Start:r.End], r.Start); err != nil {
			break
		}
		if err = p.Commit(r); err != nil {
			break
		}
		committed = committed.Add(r)
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("writing 2 MiB into ~1 MiB free: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close on a full disk: %v", err)
	}
	assertGone(t, final)
	st, _, err := readJournal(final + JournalSuffix)
	if err != nil || !reflect.DeepEqual(st.have, committed) {
		t.Fatalf("journal %v (%v), committed %v", st.have, err, committed)
	}

	os.Remove(filler)
	p, err = OpenPart(final, id)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Have(); !reflect.DeepEqual(got, committed) {
		t.Fatalf("resumed with %v, want %v", got, committed)
	}
	for _, r := range committed.Missing(id.Size) {
		write(t, p, data, r)
	}
	if err := p.Finish(context.Background()); err != nil {
		t.Fatal(err)
	}
	assertFile(t, final, data)
}
