package store

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestPathErrorNamesPathOnce: an os error about the path being worked on
// shows the path once, with the errno and the *fs.PathError still in the
// chain.
func TestPathErrorNamesPathOnce(t *testing.T) {
	p := "/m/x.safetensors.part"
	cases := []struct {
		err  error
		want string
	}{
		{wrapPath(&fs.PathError{Op: "open", Path: p, Err: syscall.EACCES}, p, "open %s", p),
			"open /m/x.safetensors.part: permission denied"},
		{wrapPath(&fs.PathError{Op: "truncate", Path: p, Err: syscall.ENOSPC}, p,
			"extend %s to %d bytes", p, 4096),
			"extend /m/x.safetensors.part to 4096 bytes: truncate: no space left on device"},
		{wrapPath(&os.LinkError{Op: "rename", Old: p, New: "/m/x.safetensors",
			Err: syscall.EACCES}, "/m/x.safetensors", "finish %s", "/m/x.safetensors"),
			"finish /m/x.safetensors: rename from /m/x.safetensors.part: permission denied"},
		{wrapPath(wrapPath(&fs.PathError{Op: "read", Path: p, Err: syscall.EIO}, p,
			"hash %s", p), p, "check %s", p),
			"check /m/x.safetensors.part: hash: read: input/output error"},
		{wrapPath(&fs.PathError{Op: "mkdir", Path: "/m", Err: syscall.EROFS}, "/m/lora",
			"create folder %s", "/m/lora"),
			"create folder /m/lora: mkdir /m: read-only file system"},
	}
	for _, c := range cases {
		if got := c.err.Error(); got != c.want {
			t.Errorf("got  %s\nwant %s", got, c.want)
		}
	}
	var pe *fs.PathError
	if err := cases[0].err; !errors.Is(err, fs.ErrPermission) || !errors.As(err, &pe) {
		t.Errorf("%v lost its cause", err)
	}
}

// TestOpenPartErrorNamesPathOnce: a real failure from the disk (the .part
// name taken by a folder) reads with the path once.
func TestOpenPartErrorNamesPathOnce(t *testing.T) {
	final := filepath.Join(t.TempDir(), "m.safetensors")
	if err := os.Mkdir(final+PartSuffix, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := OpenPart(final, Identity{Origin: "u", Size: 10})
	want := "open " + final + PartSuffix + ": is a directory"
	if err == nil || err.Error() != want || !errors.Is(err, syscall.EISDIR) {
		t.Fatalf("OpenPart = %v\nwant %s", err, want)
	}

	_, err = hashFile(context.Background(), final+PartSuffix)
	want = "hash " + final + PartSuffix + ": read: is a directory"
	if err == nil || err.Error() != want {
		t.Fatalf("hashFile = %v\nwant %s", err, want)
	}
	if strings.Count(err.Error(), final) != 1 {
		t.Fatalf("%v names the path more than once", err)
	}
}
