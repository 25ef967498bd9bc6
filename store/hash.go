package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"os"
)

// hashChunk is how much the prefix hasher reads at a time.
const hashChunk = 256 << 10

// prefixHash is the running sha256 of a file's first off bytes. It is
// owned by the hasher goroutine while that runs, then by Finish.
type prefixHash struct {
	h   hash.Hash
	off int64
	buf []byte
	err error
}

func newPrefixHash() *prefixHash {
	return &prefixHash{h: sha256.New(), buf: make([]byte, hashChunk)}
}

// step hashes up to one chunk of [ph.off, end) from r. It reports whether
// there is more to do.
func (ph *prefixHash) step(r io.ReaderAt, end int64) bool {
	if ph.err != nil || ph.off >= end {
		return false
	}
	n := min(int64(len(ph.buf)), end-ph.off)
	m, err := r.ReadAt(ph.buf[:n], ph.off)
	ph.h.Write(ph.buf[:m])
	ph.off += int64(m)
	if err != nil && int64(m) < n {
		ph.err = err
		return false
	}
	return ph.off < end
}

// upTo hashes [ph.off, end) from r, stopping early when ctx ends.
func (ph *prefixHash) upTo(ctx context.Context, r io.ReaderAt, end int64) error {
	for ph.step(r, end) {
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return ph.err
}

func (ph *prefixHash) sum() string { return hex.EncodeToString(ph.h.Sum(nil)) }

// hasher follows the contiguous committed prefix as it grows, so that at
// Finish only the tail is left to hash. It stops at p.stop.
func (p *Part) hasher() {
	defer p.wg.Done()
	for {
		select {
		case <-p.stop:
			return
		case <-p.hashKick:
		}
		for {
			p.mu.Lock()
			end := p.have.Prefix()
			p.mu.Unlock()
			if !p.hash.step(p.f, end) {
				break
			}
			select {
			case <-p.stop:
				return
			default:
			}
		}
	}
}

// hashFile returns the sha256 of the file at path, stopping when ctx ends.
func hashFile(ctx context.Context, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", wrapPath(err, path, "hash %s", path)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", wrapPath(err, path, "hash %s", path)
	}
	ph := newPrefixHash()
	if err := ph.upTo(ctx, f, fi.Size()); err != nil {
		return "", wrapPath(err, path, "hash %s", path)
	}
	return ph.sum(), nil
}
