package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// usableModelsDir makes sure dir is a folder provision can write in,
// creating it when missing, so that an unusable --models-dir fails the
// run up front with one message (exit 2) instead of once per file.
func usableModelsDir(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case err == nil && !fi.IsDir():
		return usageErr("models-dir %s is a file, not a folder; choose another --models-dir", dir)
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return modelsDirErr(dir, "creating it", err)
		}
	case err != nil:
		return modelsDirErr(dir, "reading it", err)
	}
	f, err := os.CreateTemp(dir, ".provision-write-check-*")
	if err != nil {
		return modelsDirErr(dir, "writing in it", err)
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// modelsDirErr words a failure to create or write the models folder.
func modelsDirErr(dir, doing string, err error) error {
	switch {
	case errors.Is(err, fs.ErrPermission):
		return usageErr("models-dir %s: permission denied %s; choose a writable folder", dir,
			doing)
	case errors.Is(err, syscall.EROFS):
		return usageErr("models-dir %s: read-only file system; choose a writable folder", dir)
	case errors.Is(err, syscall.ENOTDIR):
		for p := filepath.Dir(dir); p != filepath.Dir(p); p = filepath.Dir(p) {
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
				return usageErr("models-dir %s: %s is a file, not a folder; choose another "+
					"--models-dir", dir, p)
			}
		}
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return usageErr("models-dir %s: %v %s; choose another --models-dir", dir, err, doing)
}
