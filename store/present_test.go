package store

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"provision/internal/span"
)

func TestPresent(t *testing.T) {
	dir := t.TempDir()
	final := filepath.Join(dir, "m.bin")
	data := content(40_000, 20)
	if err := os.WriteFile(final, data, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cases := []struct {
		name string
		size int64
		sha  string
		want bool
	}{
		{"size matches", 40_000, "", true},
		{"size differs", 39_999, "", false},
		{"size and hash match", 40_000, sum(data), true},
		{"hash in upper case", 40_000, strings.ToUpper(sum(data)), true},
		{"hash differs", 40_000, sum(data[1:]), false},
		{"hash only", -1, sum(data), true},
		{"nothing known, cached", -1, "", true}, // hashed by the cases above
	}
	for _, c := range cases {
		got, err := Present(ctx, final, c.size, c.sha)
		if err != nil || got != c.want {
			t.Errorf("%s: Present = %v, %v; want %v", c.name, got, err, c.want)
		}
	}

	if ok, err := Present(ctx, filepath.Join(dir, "missing"), 1, ""); ok || err != nil {
		t.Errorf("missing file: %v %v", ok, err)
	}
	if _, err := Present(ctx, dir, -1, ""); err == nil {
		t.Error("a folder at the final path: no error")
	}
	other := filepath.Join(dir, "user.bin")
	os.WriteFile(other, data, 0o644)
	if ok, _ := Present(ctx, other, -1, ""); ok {
		t.Error("unknown size and hash: a file provision never checked counts as present")
	}
}

// TestPresentUsesCache proves a verified, unchanged file is not hashed
// again: the cache's word is taken, and a change to the file voids it.
func TestPresentUsesCache(t *testing.T) {
	dir := t.TempDir()
	final := filepath.Join(dir, "m.bin")
	data := content(10_000, 21)
	os.WriteFile(final, data, 0o644)
	ctx := context.Background()
	if ok, err := Present(ctx, final, 10_000, sum(data)); !ok || err != nil {
		t.Fatalf("first check: %v %v", ok, err)
	}
	cache := filepath.Join(dir, cacheName)
	raw, err := os.ReadFile(cache)
	if err != nil {
		t.Fatal(err)
	}
	var c cacheFile
	if err := json.Unmarshal(raw, &c); err != nil || c.Files["m.bin"].SHA256 != sum(data) {
		t.Fatalf("cache after first check: %s (%v)", raw, err)
	}

	// Doctor the cached digest: an unchanged file is judged by it alone.
	e := c.Files["m.bin"]
	e.SHA256 = sum([]byte("doctored"))
	c.Files["m.bin"] = e
	raw, _ = json.Marshal(c)
	os.WriteFile(cache, raw, 0o644)
	if ok, _ := Present(ctx, final, 10_000, sum(data)); ok {
		t.Fatal("file was hashed again instead of trusting the cache")
	}
	if ok, _ := Present(ctx, final, 10_000, sum([]byte("doctored"))); !ok {
		t.Fatal("cache not used")
	}

	// Rewriting the file (same size) changes its key: it is hashed again.
	changed := content(10_000, 22)
	os.WriteFile(final+".new", changed, 0o644)
	os.Rename(final+".new", final)
	if ok, _ := Present(ctx, final, 10_000, sum(changed)); !ok {
		t.Fatal("changed file not rehashed")
	}
	if ok, _ := Present(ctx, final, 10_000, sum(data)); ok {
		t.Fatal("stale cache entry trusted after the file changed")
	}
}

func TestFinishRecordsCache(t *testing.T) {
	final := filepath.Join(t.TempDir(), "m.bin")
	data := content(3000, 23)
	id := Identity{Origin: "u", Size: 3000, SHA256: sum(data)}
	if err := download(t, final, id, data); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(final)
	e, ok := lookupVerified(final, fi)
	if !ok || e.SHA256 != sum(data) {
		t.Fatalf("cache after Finish: %+v %v", e, ok)
	}
}

func TestPresentCanceled(t *testing.T) {
	final := filepath.Join(t.TempDir(), "m.bin")
	os.WriteFile(final, content(2<<20, 24), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Present(ctx, final, 2<<20, sum(nil))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Present with a canceled ctx = %v", err)
	}
}

// TestPresentRemovesLeftovers: the .part and journal a killed download
// left beside a file that is now in place and verified go once the file is
// found present; a .part another process is writing (locked) stays, and
// nothing goes while the file is not present.
func TestPresentRemovesLeftovers(t *testing.T) {
	data := content(10_000, 3)
	final := filepath.Join(t.TempDir(), "m.bin")
	if err := os.WriteFile(final, data, 0o644); err != nil {
		t.Fatal(err)
	}
	journal := final + JournalSuffix

	// Locked by a download in progress: kept.
	p, err := OpenPart(final, Identity{Origin: "o", Size: 10_000, SHA256: sum(data)})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := Present(context.Background(), final, 10_000, sum(data)); !ok || err != nil {
		t.Fatalf("Present = %v, %v", ok, err)
	}
	if _, err := os.Stat(final + PartSuffix); err != nil {
		t.Fatalf("a .part in use was removed: %v", err)
	}
	p.Close()

	// Not present (another size): nothing removed.
	os.WriteFile(journal, []byte("stale"), 0o644)
	if ok, _ := Present(context.Background(), final, 10_001, ""); ok {
		t.Fatal("a file of another size is present")
	}
	if _, err := os.Stat(journal); err != nil {
		t.Fatalf("the journal of a file that is not present was removed: %v", err)
	}

	// Present and nobody holds the leftovers: both go.
	if ok, err := Present(context.Background(), final, 10_000, sum(data)); !ok || err != nil {
		t.Fatalf("Present = %v, %v", ok, err)
	}
	assertGone(t, journal)
	assertGone(t, final+PartSuffix)

	// A .part that is a planted link is never touched.
	target := filepath.Join(t.TempDir(), "elsewhere")
	os.WriteFile(target, []byte("x"), 0o644)
	os.Symlink(target, final+PartSuffix)
	Present(context.Background(), final, 10_000, sum(data))
	if _, err := os.Lstat(final + PartSuffix); err != nil {
		t.Fatalf("a planted link was removed: %v", err)
	}
	if _, err := os.Stat(target); err != nil {
		t.Fatalf("the link's target was touched: %v", err)
	}
}

// TestPresentAsSourceVersion: without a sha256, a file provision finished
// from a source whose ETag was recorded stops being present when the
// source names another ETag; a file nobody recorded is judged by size.
func TestPresentAsSourceVersion(t *testing.T) {
	data := content(5_000, 9)
	final := filepath.Join(t.TempDir(), "m.pth")
	id := Identity{Origin: "http://h/m.pth", Size: int64(len(data)), ETag: "v1"}
	p, err := OpenPart(final, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	if err := p.Commit(span.Range{Start: 0, End: int64(len(data))}); err != nil {
		t.Fatal(err)
	}
	if err := p.Finish(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if ok, err := PresentAs(ctx, final, id); !ok || err != nil {
		t.Fatalf("same version: PresentAs = %v, %v", ok, err)
	}
	id.ETag = "v2"
	if ok, _ := PresentAs(ctx, final, id); ok {
		t.Fatal("a new version of the source is taken as present")
	}
	other := filepath.Join(t.TempDir(), "user.pth")
	os.WriteFile(other, data, 0o644)
	if ok, _ := PresentAs(ctx, other, id); !ok {
		t.Fatal("a file of the right size that provision never recorded is not present")
	}
}

// TestOnDisk: what a stopped download keeps is what its journal vouches
// for, for the same identity only; nothing is changed by asking.
func TestOnDisk(t *testing.T) {
	final := filepath.Join(t.TempDir(), "big.bin")
	const size = 20 << 20
	id := Identity{Origin: "http://h/big.bin", Size: size, ETag: "e1"}
	if got := OnDisk(final, id); got != 0 {
		t.Fatalf("nothing started: OnDisk = %d", got)
	}
	p, err := OpenPart(final, id)
	if err != nil {
		t.Fatal(err)
	}
	chunk := content(12<<20, 4)
	if _, err := p.WriteAt(chunk, 0); err != nil {
		t.Fatal(err)
	}
	if err := p.Commit(span.Range{Start: 0, End: int64(len(chunk))}); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if got := OnDisk(final, id); got != int64(len(chunk)) {
		t.Errorf("OnDisk = %d, want %d", got, len(chunk))
	}
	other := id
	other.ETag = "e2"
	if got := OnDisk(final, other); got != 0 {
		t.Errorf("another version: OnDisk = %d, want 0", got)
	}
	if _, err := os.Stat(final + PartSuffix); err != nil {
		t.Fatalf("OnDisk changed the part: %v", err)
	}
}
