package store

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"provision/internal/span"
)

// BenchmarkPart measures the store's share of a download: 16 writers
// putting 256 MiB into a Part in 64 KiB writes, committing every 8 MiB,
// then Finish, with and without the sha256 check. Set STORE_BENCH_DIR to
// measure another filesystem (e.g. /dev/shm).
func BenchmarkPart(b *testing.B) {
	b.Run("sha256", func(b *testing.B) { benchPart(b, true) })
	b.Run("size-only", func(b *testing.B) { benchPart(b, false) })
}

func benchPart(b *testing.B, verify bool) {
	const size, conns, write, commit = 256 << 20, 16, 64 << 10, 8 << 20
	dir := os.Getenv("STORE_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	buf := make([]byte, write)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	var whole string
	if verify {
		whole = sha256Of(buf, size)
	}
	b.SetBytes(size)
	for i := 0; b.Loop(); i++ {
		final := filepath.Join(dir, "bench.bin")
		p, err := OpenPart(final, Identity{Origin: "u", Size: size, SHA256: whole})
		if err != nil {
			b.Fatal(err)
		}
		var wg sync.WaitGroup
		per := int64(size / conns)
		for c := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				start := int64(c) * per
				from := start
				for off := start; off < start+per; off += write {
					if _, err := p.WriteAt(buf, off); err != nil {
						b.Error(err)
						return
					}
					if off+write-from >= commit || off+write == start+per {
						p.Commit(span.Range{Start: from, End: off + write})
						from = off + write
					}
				}
			}()
		}
		wg.Wait()
		if err := p.Finish(context.Background()); err != nil {
			b.Fatal(err)
		}
		os.Remove(final)
	}
}

// sha256Of returns the hash of block repeated to size bytes.
func sha256Of(block []byte, size int) string {
	ph := newPrefixHash()
	for n := 0; n < size; n += len(block) {
		ph.h.Write(block)
	}
	return ph.sum()
}
