//go:build !linux

package store

import (
	"errors"
	"os"
)

// oNoFollow is 0 off Linux; openPart checks with Lstat instead.
const oNoFollow = 0

var errNoFallocate = errors.New("fallocate not supported")

// lockFile is a no-op off Linux: two processes are not kept apart there.
func lockFile(*os.File) error { return nil }

func unlockFile(*os.File) error { return nil }

func fallocate(*os.File, int64, int64) error { return errNoFallocate }

func onTmpfs(*os.File) bool { return false }

func datasync(f *os.File) error { return f.Sync() }

// freeBytes reports "unknown" as a very large number, so CheckSpace passes.
func freeBytes(string) (int64, error) { return 1 << 62, nil }

func statOf(fi os.FileInfo) fileStat {
	return fileStat{nlink: 1, allocated: fi.Size()}
}
