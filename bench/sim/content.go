package sim

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// blockSize is the period of the shared base pattern and the unit whose
// position changes the bytes: every blockSize-aligned block of a virtual
// file is the base pattern XOR a 64-bit key derived from the seed and the
// block index, so bytes copied to the wrong block (or from another seed)
// never match.
const blockSize = 64 << 10

// base is the pseudo-random pattern every virtual file is built from.
var base = func() []byte {
	b := make([]byte, blockSize)
	var ctr [8]byte
	for i := 0; i < blockSize; i += sha256.Size {
		binary.LittleEndian.PutUint64(ctr[:], uint64(i))
		sum := sha256.Sum256(append([]byte("provision/bench/sim base"), ctr[:]...))
		copy(b[i:], sum[:])
	}
	return b
}()

// SafetensorsSeed returns the seed of a virtual file of size bytes that
// begins with a valid safetensors header: an 8-byte little-endian header
// length, a JSON header describing one U8 tensor that fills the rest of the
// file exactly, padded with spaces. name only makes the seed distinct. Files
// too small for a header (under 256 bytes) get no header.
//
// The catalog uses such seeds for every served file whose name ends in
// ".safetensors", so that a downloader's safetensors sanity check passes.
func SafetensorsSeed(size int64, name string) string {
	return "safetensors:" + strconv.FormatInt(size, 10) + ":" + name
}

// Content fills p with the bytes at offset off of the virtual file named
// seed. The file has no fixed length: any offset ≥ 0 is valid. A byte
// depends on the seed and on the offset (through its 64 KiB block), so two
// seeds, or one range placed at the wrong offset, give different bytes.
// Seeds made by SafetensorsSeed start with a safetensors header.
// Content is safe for concurrent use and does not allocate.
func Content(seed string, off int64, p []byte) {
	if off < 0 {
		panic("sim: negative offset")
	}
	sh := seedHash(seed)
	fill(sh, off, p)
	if strings.HasPrefix(seed, "safetensors:") && off < maxHeader {
		if h := stHeader(seed); off < int64(len(h)) {
			copy(p, h[off:])
		}
	}
}

// seedHash reduces a seed to the 64-bit value the block keys derive from.
func seedHash(seed string) uint64 {
	// FNV-1a, then a final mix: cheap, allocation free, stable forever.
	h := uint64(14695981039346656037)
	for i := 0; i < len(seed); i++ {
		h ^= uint64(seed[i])
		h *= 1099511628211
	}
	return mix(h)
}

// mix is the splitmix64 finaliser.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// fill writes the pattern bytes of [off, off+len(p)) for seed hash sh.
func fill(sh uint64, off int64, p []byte) {
	for len(p) > 0 {
		blk := off / blockSize
		in := int(off % blockSize)
		n := min(len(p), blockSize-in)
		key := mix(sh ^ uint64(blk)*0xd6e8feb86659fd93)
		xorKey(p[:n], base[in:in+n], key, in)
		p = p[n:]
		off += int64(n)
	}
}

// xorKey sets dst[i] = src[i] ^ byte i of key, where the key's byte phase
// is given by the offset in of src within its block. It is excluded from
// race instrumentation, which would slow it a thousandfold and with it
// every -race test that downloads from the simulator; it touches only dst,
// owned by the caller, and the immutable base.
//
//go:norace
func xorKey(dst, src []byte, key uint64, in int) {
	var kb [8]byte
	binary.LittleEndian.PutUint64(kb[:], key)
	i := 0
	for ; i < len(dst) && (in+i)%8 != 0; i++ {
		dst[i] = src[i] ^ kb[(in+i)%8]
	}
	for ; i+32 <= len(dst); i += 32 {
		d, s := dst[i:i+32], src[i:i+32]
		binary.LittleEndian.PutUint64(d[0:], binary.LittleEndian.Uint64(s[0:])^key)
		binary.LittleEndian.PutUint64(d[8:], binary.LittleEndian.Uint64(s[8:])^key)
		binary.LittleEndian.PutUint64(d[16:], binary.LittleEndian.Uint64(s[16:])^key)
		binary.LittleEndian.PutUint64(d[24:], binary.LittleEndian.Uint64(s[24:])^key)
	}
	for ; i+8 <= len(dst); i += 8 {
		binary.LittleEndian.PutUint64(dst[i:], binary.LittleEndian.Uint64(src[i:])^key)
	}
	for ; i < len(dst); i++ {
		dst[i] = src[i] ^ kb[(in+i)%8]
	}
}

// maxHeader bounds the safetensors header length (it is a few hundred bytes).
const maxHeader = 4096

var headers sync.Map // seed -> []byte

// stHeader returns the safetensors prefix (length + JSON) for a seed made by
// SafetensorsSeed, or nil when the seed is malformed or the file too small.
func stHeader(seed string) []byte {
	if h, ok := headers.Load(seed); ok {
		return h.([]byte)
	}
	h := buildHeader(seed)
	headers.Store(seed, h)
	return h
}

func buildHeader(seed string) []byte {
	rest := strings.TrimPrefix(seed, "safetensors:")
	sizeStr, name, ok := strings.Cut(rest, ":")
	size, err := strconv.ParseInt(sizeStr, 10, 64)
	if !ok || err != nil || size < 256 {
		return nil
	}
	meta, _ := json.Marshal(name)
	// The JSON length depends on the tensor size's digit count and vice
	// versa; two passes settle it because padding rounds up to 8.
	var js []byte
	n, settled := int64(0), false
	for range 4 {
		data := size - 8 - n
		js = fmt.Appendf(nil,
			`{"__metadata__":{"format":"pt","source":%s},`+
				`"weight":{"dtype":"U8","shape":[%d],"data_offsets":[0,%d]}}`,
			meta, data, data)
		padded := (int64(len(js)) + 7) / 8 * 8
		if settled = padded == n; settled {
			break
		}
		n = padded
	}
	if !settled || 8+n > size || n > maxHeader-8 {
		return nil
	}
	h := make([]byte, 8+n)
	binary.LittleEndian.PutUint64(h, uint64(n))
	copy(h[8:], js)
	for i := 8 + len(js); i < len(h); i++ {
		h[i] = ' '
	}
	return h
}

type digestKey struct {
	seed string
	size int64
}

type digestEntry struct {
	once sync.Once
	hex  string
}

var digests sync.Map // digestKey -> *digestEntry

// Digest returns the lowercase hex sha256 of the first size bytes of the
// virtual file seed. It is computed on first use and cached per seed and
// size; concurrent callers for the same file wait for one computation.
func Digest(seed string, size int64) string {
	v, _ := digests.LoadOrStore(digestKey{seed, size}, &digestEntry{})
	e := v.(*digestEntry)
	e.once.Do(func() {
		h := sha256.New()
		buf := make([]byte, 1<<20)
		for off := int64(0); off < size; {
			n := int(min(int64(len(buf)), size-off))
			Content(seed, off, buf[:n])
			h.Write(buf[:n])
			off += int64(n)
		}
		e.hex = hex.EncodeToString(h.Sum(nil))
	})
	return e.hex
}
