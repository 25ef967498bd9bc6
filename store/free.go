package store

// FreeSpace returns the bytes an unprivileged user may still write on the
// filesystem holding dir. dir need not exist yet: its nearest existing
// parent is asked.
func FreeSpace(dir string) (int64, error) {
	probe, _, err := existingParent(dir)
	if err != nil {
		return 0, wrapPath(err, dir, "free space in %s", dir)
	}
	n, err := freeBytes(probe)
	if err != nil {
		return 0, wrapPath(err, dir, "free space in %s", dir)
	}
	return n, nil
}
