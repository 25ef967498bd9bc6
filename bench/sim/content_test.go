package sim

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"testing"
)

func TestContentIsPositional(t *testing.T) {
	whole := make([]byte, 3*blockSize+123)
	Content("a", 0, whole)
	// Any sub-range read on its own equals the same slice of the whole file.
	ranges := [][2]int{{0, 1}, {7, 9}, {blockSize - 3, blockSize + 5}, {1000, 3 * blockSize}}
	for _, r := range ranges {
		p := make([]byte, r[1]-r[0])
		Content("a", int64(r[0]), p)
		if !bytes.Equal(p, whole[r[0]:r[1]]) {
			t.Errorf("range %v differs from the whole file", r)
		}
	}
	// A block's bytes differ from the next block's and from another seed's.
	if bytes.Equal(whole[:blockSize], whole[blockSize:2*blockSize]) {
		t.Error("two blocks are equal")
	}
	other := make([]byte, blockSize)
	Content("b", 0, other)
	if bytes.Equal(other, whole[:blockSize]) {
		t.Error("two seeds give the same bytes")
	}
	// A range shifted by 8 bytes inside a block does not match.
	if bytes.Equal(whole[8:1008], whole[16:1016]) {
		t.Error("shifted range matches")
	}
}

func TestDigest(t *testing.T) {
	for _, size := range []int64{0, 1, 255, 256, 4096, blockSize + 1} {
		p := make([]byte, size)
		Content("seed", 0, p)
		sum := sha256.Sum256(p)
		if got, want := Digest("seed", size), hex.EncodeToString(sum[:]); got != want {
			t.Errorf("Digest(seed, %d) = %s, want %s", size, got, want)
		}
	}
}

func TestSafetensorsHeader(t *testing.T) {
	for _, size := range []int64{256, 1000, 1 << 20, 99999999999} {
		seed := SafetensorsSeed(size, "org/repo/x.safetensors")
		p := make([]byte, 600)
		Content(seed, 0, p)
		n := int64(binary.LittleEndian.Uint64(p))
		if n%8 != 0 || 8+n > int64(len(p)) {
			t.Fatalf("size %d: header length %d", size, n)
		}
		var h struct {
			Weight struct {
				Offsets []int64 `json:"data_offsets"`
			} `json:"weight"`
		}
		if err := json.Unmarshal(p[8:8+n], &h); err != nil {
			t.Fatalf("size %d: header %q: %v", size, p[8:8+n], err)
		}
		if end := h.Weight.Offsets[1]; end != size-8-n {
			t.Errorf("size %d: tensor ends at %d, want %d", size, end, size-8-n)
		}
		// Bytes after the header are the plain pattern.
		q := make([]byte, 100)
		Content(seed, 8+n, q)
		if !bytes.Equal(q, p[8+n:8+n+100]) {
			t.Errorf("size %d: data after header differs", size)
		}
	}
	// A file too small for a header is the plain pattern of its seed.
	seed := SafetensorsSeed(100, "tiny")
	p, q := make([]byte, 100), make([]byte, 100)
	Content(seed, 0, p)
	fill(seedHash(seed), 0, q)
	if !bytes.Equal(p, q) {
		t.Error("tiny file got a header")
	}
}

func BenchmarkContent(b *testing.B) {
	p := make([]byte, 1<<20)
	b.SetBytes(int64(len(p)))
	for i := 0; b.Loop(); i++ {
		Content("bench/file.bin", int64(i)*int64(len(p))+3, p)
	}
}

func BenchmarkContentAligned(b *testing.B) {
	p := make([]byte, 256<<10)
	b.SetBytes(int64(len(p)))
	for i := 0; b.Loop(); i++ {
		Content("bench/file.bin", int64(i)*int64(len(p)), p)
	}
}
