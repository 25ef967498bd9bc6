package store

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestHumanBytes(t *testing.T) {
	cases := map[int64]string{
		0: "0 B", 512: "512 B", 1023: "1023 B", 1024: "1.0 KiB",
		64 << 20: "64.0 MiB", 100 << 20: "100.0 MiB", 3 << 29: "1.5 GiB",
		5 << 40: "5.0 TiB",
	}
	for n, want := range cases {
		if got := HumanBytes(n); got != want {
			t.Errorf("HumanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestSpaceErrorMessage(t *testing.T) {
	err := &SpaceError{Dir: "/x/models/checkpoints", Need: 100 << 20, Free: 64 << 20}
	want := "need 100.0 MiB in /x/models/checkpoints, 64.0 MiB free"
	if err.Error() != want {
		t.Fatalf("%q, want %q", err, want)
	}
}

func TestCheckSpace(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "not", "yet", "there")
	if err := CheckSpace(dir, 1); err != nil {
		t.Fatalf("1 byte: %v", err)
	}
	err := CheckSpace(dir, 1<<62)
	var serr *SpaceError
	if !errors.As(err, &serr) || serr.Dir != dir || serr.Need != 1<<62 || serr.Free <= 0 {
		t.Fatalf("CheckSpace(huge) = %v", err)
	}

	// Two folders on one filesystem draw on the same free bytes.
	free, err := freeBytes(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	err = CheckSpaces(map[string]int64{a: free/2 + 1<<30, b: free/2 + 1<<30})
	if !errors.As(err, &serr) || serr.Dir != a+", "+b {
		t.Fatalf("CheckSpaces = %v", err)
	}
}

func TestRemaining(t *testing.T) {
	final := filepath.Join(t.TempDir(), "m.bin")
	if got := Remaining(final, 1<<20); got != 1<<20 {
		t.Fatalf("no part: %d", got)
	}
	p, err := OpenPart(final, Identity{Origin: "u", Size: 1 << 20, ETag: "e"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Allocated(t.Context()); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(final + PartSuffix)
	if statOf(fi).allocated >= 1<<20 { // fallocate worked here
		if got := Remaining(final, 1<<20); got != 0 {
			t.Fatalf("preallocated part: %d remaining", got)
		}
	}
}

func TestFreeSpace(t *testing.T) {
	free, err := FreeSpace(filepath.Join(t.TempDir(), "not", "yet"))
	if err != nil || free <= 0 {
		t.Fatalf("FreeSpace = %d, %v", free, err)
	}
}
