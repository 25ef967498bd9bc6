package store

import "fmt"

// FreeSpace returns the bytes an unprivileged user may still write on the
// filesystem holding dir. dir need not exist yet: its nearest existing
// parent is asked.
func FreeSpace(dir string) (int64, error) {
	probe, _, err := existingParent(dir)
	if err != nil {
		return 0, fmt.Errorf("free space in %s: %w", dir, err)
	}
	n, err := freeBytes(probe)
	if err != nil {
		return 0, fmt.Errorf("free space in %s: %w", dir, err)
	}
	return n, nil
}
