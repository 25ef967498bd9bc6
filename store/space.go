package store

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// CheckSpace returns a *SpaceError when the filesystem holding dir has
// fewer than need bytes free for an unprivileged user. dir need not exist
// yet: its nearest existing parent is asked.
func CheckSpace(dir string, need int64) error {
	return CheckSpaces(map[string]int64{dir: need})
}

// CheckSpaces checks several folders at once: the needs of folders on the
// same filesystem are added up before they are compared with its free
// space, since they draw on the same blocks. The first shortfall is a
// *SpaceError naming those folders; other failures name the folder.
func CheckSpaces(needs map[string]int64) error {
	type group struct {
		dirs []string
		need int64
		free int64
	}
	groups := map[uint64]*group{}
	var order []uint64
	dirs := make([]string, 0, len(needs))
	for d := range needs {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	for _, d := range dirs {
		if needs[d] <= 0 {
			continue
		}
		probe, fi, err := existingParent(d)
		if err != nil {
			return wrapPath(err, d, "check free space in %s", d)
		}
		dev := statOf(fi).dev
		g, ok := groups[dev]
		if !ok {
			free, err := freeBytes(probe)
			if err != nil {
				return wrapPath(err, d, "check free space in %s", d)
			}
			g = &group{free: free}
			groups[dev] = g
			order = append(order, dev)
		}
		g.dirs = append(g.dirs, d)
		g.need += needs[d]
	}
	for _, dev := range order {
		if g := groups[dev]; g.need > g.free {
			return &SpaceError{Dir: strings.Join(g.dirs, ", "), Need: g.need, Free: g.free}
		}
	}
	return nil
}

// existingParent returns dir or its nearest existing ancestor, with its
// FileInfo.
func existingParent(dir string) (string, os.FileInfo, error) {
	p, err := filepath.Abs(dir)
	if err != nil {
		return "", nil, err
	}
	for {
		fi, err := os.Stat(p)
		if err == nil {
			return p, fi, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return "", nil, err
		}
		up := filepath.Dir(p)
		if up == p {
			return "", nil, err
		}
		p = up
	}
}

// Remaining returns the bytes the download of final (size bytes) still
// needs on disk: size less what an existing final+".part" already has
// reserved. With size unknown it returns 0.
func Remaining(final string, size int64) int64 {
	if size <= 0 {
		return 0
	}
	fi, err := os.Lstat(final + PartSuffix)
	if err != nil || !fi.Mode().IsRegular() {
		return size
	}
	return max(0, size-min(size, statOf(fi).allocated))
}

// OnDisk returns the bytes of final that an earlier, stopped download left
// in final+".part" and that a resume would keep: what an intact journal of
// the same identity vouches for, 0 otherwise. It reads without locking and
// changes nothing, for plans and estimates.
func OnDisk(final string, id Identity) int64 {
	st, _, err := readJournal(final + JournalSuffix)
	if err != nil || !id.Same(st.id) {
		return 0
	}
	fi, err := os.Lstat(final + PartSuffix)
	if err != nil || !fi.Mode().IsRegular() || len(st.have) == 0 ||
		st.have[len(st.have)-1].End > fi.Size() {
		return 0
	}
	return st.have.Total()
}
