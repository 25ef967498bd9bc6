//go:build linux

package store

import (
	"errors"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// oNoFollow makes an open fail with ELOOP when the last path element is a
// symbolic link, so a planted link at a .part path is never followed.
const oNoFollow = unix.O_NOFOLLOW

// errNoFallocate says the filesystem cannot preallocate; the caller falls
// back to a sparse ftruncate.
var errNoFallocate = errors.New("fallocate not supported")

// control runs fn with f's descriptor, keeping it valid for the call.
func control(f *os.File, fn func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// lockFile takes an exclusive, non-blocking flock on f. It returns
// ErrLocked when another open file description holds it.
func lockFile(f *os.File) error {
	err := control(f, func(fd int) error {
		for {
			err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
			if err != unix.EINTR {
				return err
			}
		}
	})
	if errors.Is(err, unix.EWOULDBLOCK) {
		return ErrLocked
	}
	return err
}

// unlockFile releases the flock taken by lockFile.
func unlockFile(f *os.File) error {
	return control(f, func(fd int) error { return unix.Flock(fd, unix.LOCK_UN) })
}

// fallocate reserves the blocks of [off, off+n) and extends the file size
// to cover them (mode 0). It returns errNoFallocate where unsupported.
func fallocate(f *os.File, off, n int64) error {
	err := control(f, func(fd int) error {
		for {
			err := unix.Fallocate(fd, 0, off, n)
			if err != unix.EINTR {
				return err
			}
		}
	})
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) {
		return errNoFallocate
	}
	return err
}

// onTmpfs reports whether f lives on tmpfs, where fallocate zeroes every
// page up front (about 0.3 CPU-seconds per GiB) and buys nothing a write
// would not: there is no delayed allocation, so ENOSPC comes from the write.
func onTmpfs(f *os.File) bool {
	var st unix.Statfs_t
	err := control(f, func(fd int) error { return unix.Fstatfs(fd, &st) })
	return err == nil && st.Type == unix.TMPFS_MAGIC
}

// datasync flushes f's data and the metadata needed to read it back.
func datasync(f *os.File) error {
	return control(f, func(fd int) error {
		for {
			err := unix.Fdatasync(fd)
			if err != unix.EINTR {
				return err
			}
		}
	})
}

// freeBytes returns the bytes an unprivileged user may still write on the
// filesystem holding dir.
func freeBytes(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

// statOf extracts what the verification cache and the part checks need
// from fi: inode, device, change time, link count and allocated bytes.
func statOf(fi os.FileInfo) fileStat {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileStat{nlink: 1, allocated: fi.Size()}
	}
	return fileStat{
		ino:       st.Ino,
		dev:       uint64(st.Dev),
		ctimeNS:   st.Ctim.Nano(),
		nlink:     uint64(st.Nlink),
		allocated: st.Blocks * 512,
	}
}
