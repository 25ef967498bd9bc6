package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// The verification cache remembers, per folder, the sha256 of files that
// were hashed (by Present or by Finish), keyed by what changes when a
// file does: size, modification and change times and inode. A file
// verified once is not hashed again while those stay the same, so a rerun
// over 20 GB of checkpoints takes a stat per file. It lives in the file
// <folder>/.provision-verified.json, which the UIs ignore (they list model
// extensions only). The cache is an optimisation: a cache that cannot be
// read or written only means hashing again.
const cacheName = ".provision-verified.json"

// fileStat is the platform part of a file's identity.
type fileStat struct {
	ino       uint64
	dev       uint64
	ctimeNS   int64
	nlink     uint64
	allocated int64 // bytes of disk blocks actually reserved
}

// cacheEntry is one file's record; SHA256 "" means the file was finished
// by provision without a known hash (its size was checked).
type cacheEntry struct {
	Size    int64  `json:"size"`
	MtimeNS int64  `json:"mtime_ns"`
	CtimeNS int64  `json:"ctime_ns"`
	Inode   uint64 `json:"inode"`
	SHA256  string `json:"sha256"`
	ETag    string `json:"etag,omitempty"` // the source's identity when provision finished it
}

type cacheFile struct {
	Version int                   `json:"version"`
	Files   map[string]cacheEntry `json:"files"`
}

// cacheMu serialises this process's use of cache files and guards memo.
// Two processes may still lose each other's update; that costs a rehash.
var cacheMu sync.Mutex

// memo keeps each folder's parsed cache with the stat of the file it came
// from, so a folder of a thousand files is not parsed a thousand times.
var memo = map[string]memoCache{}

type memoCache struct {
	stamp cacheEntry // size, times and inode of the cache file when read
	c     cacheFile
}

func entryFor(fi os.FileInfo, sha string) cacheEntry {
	st := statOf(fi)
	return cacheEntry{Size: fi.Size(), MtimeNS: fi.ModTime().UnixNano(),
		CtimeNS: st.ctimeNS, Inode: st.ino, SHA256: sha}
}

// cacheFor returns dir's cache; cacheMu must be held. Records of files
// that are gone are dropped when the file is read.
func cacheFor(dir string) cacheFile {
	path := filepath.Join(dir, cacheName)
	fi, err := os.Stat(path)
	if err != nil {
		delete(memo, dir)
		return cacheFile{Version: 1, Files: map[string]cacheEntry{}}
	}
	stamp := entryFor(fi, "")
	if m, ok := memo[dir]; ok && m.stamp == stamp {
		return m.c
	}
	c := cacheFile{Version: 1, Files: map[string]cacheEntry{}}
	data, err := os.ReadFile(path)
	var got cacheFile
	if err == nil && json.Unmarshal(data, &got) == nil && got.Version == 1 && got.Files != nil {
		c = got
	}
	for name := range c.Files {
		if _, err := os.Lstat(filepath.Join(dir, name)); errors.Is(err, os.ErrNotExist) {
			delete(c.Files, name)
		}
	}
	memo[dir] = memoCache{stamp: stamp, c: c}
	return c
}

// lookupVerified returns the cached record of path when fi still matches it.
func lookupVerified(path string, fi os.FileInfo) (cacheEntry, bool) {
	cacheMu.Lock()
	defer cacheMu.Unlock()
	e, ok := cacheFor(filepath.Dir(path)).Files[filepath.Base(path)]
	if !ok {
		return cacheEntry{}, false
	}
	want := entryFor(fi, e.SHA256)
	want.ETag = e.ETag
	return e, e == want
}

// recordVerified stores fi, sha and the source's etag for path. Failures
// are ignored: see cacheName.
func recordVerified(path string, fi os.FileInfo, sha, etag string) {
	cacheMu.Lock()
	defer cacheMu.Unlock()
	dir := filepath.Dir(path)
	c := cacheFor(dir)
	e := entryFor(fi, sha)
	e.ETag = etag
	c.Files[filepath.Base(path)] = e
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return
	}
	tmp, err := os.CreateTemp(dir, cacheName+".*.tmp")
	if err != nil {
		return
	}
	_, err = tmp.Write(append(data, '\n'))
	if err == nil {
		err = tmp.Chmod(0o644) // CreateTemp makes 0600; the folder's files are shared
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, cacheName))
	}
	if err != nil {
		os.Remove(tmp.Name())
		return
	}
	if fi, err := os.Stat(filepath.Join(dir, cacheName)); err == nil {
		memo[dir] = memoCache{stamp: entryFor(fi, ""), c: c}
	}
}

// Present reports whether final already holds the wanted file, so it need
// not be fetched. "Present" is never just "a file exists":
//
//   - size >= 0: the file's size must equal size;
//   - sha256 != "": its sha256 must match, taken from the verification
//     cache when the file is unchanged since it was last hashed, otherwise
//     computed (stopping when ctx ends) and cached;
//   - size < 0 and sha256 == "": nothing is known to compare, so only a
//     file that provision itself finished, unchanged since, counts.
//
// A missing file is (false, nil). A path that is not a regular file (a
// folder, a device) is an error naming it; symbolic links are followed.
// When the file is present, what an earlier download of it left beside it
// (a .part and journal of a killed process, a journal left between the
// rename and its removal) is removed, unless another process holds it.
func Present(ctx context.Context, final string, size int64, sha256 string) (bool, error) {
	return PresentAs(ctx, final, Identity{Size: size, SHA256: sha256})
}

// PresentAs is Present for the file the source id describes. It also
// catches a source replaced by another version of the same size when no
// sha256 is known: a file provision finished from a source whose ETag was
// recorded is not present once the source names another ETag.
func PresentAs(ctx context.Context, final string, id Identity) (bool, error) {
	ok, err := present(ctx, final, id.Size, id.SHA256, id.ETag)
	if ok {
		removeLeftovers(final)
	}
	return ok, err
}

// removeLeftovers removes the .part and journal beside a file that is in
// place and verified: nothing would ever resume them, and a preallocated
// .part holds as much disk as the model. A .part another process has
// locked is its download in progress and stays; a .part that is a link
// (planted, never ours) is not touched.
func removeLeftovers(final string) {
	part := final + PartSuffix
	f, err := os.OpenFile(part, os.O_RDWR|oNoFollow, 0)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return
	default:
		defer f.Close()
		if lockFile(f) != nil {
			return
		}
		defer unlockFile(f)
		if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
			return
		}
		os.Remove(part)
	}
	os.Remove(final + JournalSuffix)
	os.Remove(final + JournalSuffix + ".tmp")
}

func present(ctx context.Context, final string, size int64, sha256, etag string) (bool, error) {
	fi, err := os.Stat(final)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, wrapPath(err, final, "check %s", final)
	}
	if !fi.Mode().IsRegular() {
		return false, fmt.Errorf("check %s: not a regular file (%s); move it away",
			final, fi.Mode().Type())
	}
	if size >= 0 && fi.Size() != size {
		return false, nil
	}
	e, cached := lookupVerified(final, fi)
	if sha256 == "" {
		if cached && etag != "" && e.ETag != "" && e.ETag != etag {
			return false, nil // the source now serves another version
		}
		return size >= 0 || cached, nil
	}
	if cached && e.SHA256 != "" {
		return strings.EqualFold(e.SHA256, sha256), nil
	}

	got, err := hashFile(ctx, final)
	if err != nil {
		return false, wrapPath(err, final, "check %s", final)
	}
	if after, err := os.Stat(final); err == nil && entryFor(after, "") == entryFor(fi, "") {
		recordVerified(final, fi, got, "")
	}
	return strings.EqualFold(got, sha256), nil
}
