package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/bits"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"provision/internal/span"
)

// Identity is what a .part file is a copy of. The journal records it, and
// a resume is only allowed when the identity is the same (see Same), so
// two versions of a file are never spliced together.
type Identity struct {
	Origin string // the first-hop URL, redacted (no tokens, no signatures)
	Size   int64  // exact size in bytes, or -1 when unknown
	SHA256 string // lowercase hex when known
	ETag   string // a content identity from the source (commit, ETag); may be ""
}

// Same reports whether bytes journalled for old may be kept for id: the
// sizes agree and, when both know a sha256, the sha256s agree; otherwise
// the origin and ETag must both agree. An identity that knows neither a
// size, a sha256 nor an ETag never matches: there is nothing to tell a
// changed remote from an unchanged one.
func (id Identity) Same(old Identity) bool {
	if id.Size < 0 && id.SHA256 == "" && id.ETag == "" {
		return false
	}
	if id.Size != old.Size {
		return false
	}
	if id.SHA256 != "" && old.SHA256 != "" {
		return strings.EqualFold(id.SHA256, old.SHA256)
	}
	return id.Origin == old.Origin && id.ETag == old.ETag
}

// The journal file holds two slots of equal size S (a power of two, at
// least minSlot). Each slot is empty (all zero bytes) or holds a state:
//
//	provision-journal 2
//	{"seq":N,"origin":"…","size":N,"sha256":"…","etag":"…","ranges":[[start,end],…]}
//	crc32c XXXXXXXX
//
// followed by zero bytes up to S. The checksum (CRC-32C, hex) covers the
// first two lines with their newlines. ranges are half-open, sorted,
// disjoint and non-adjacent, and only ever bytes whose data was synced
// before the slot was written. A reader takes the valid slot with the
// highest seq; anything that does not parse exactly is ignored.
//
// State seq goes to slot seq%2, overwritten in place and fdatasynced: a
// torn write can only damage the older slot, and once the file exists a
// checkpoint allocates no new blocks, so it still works on a full disk.
// The file is created (and regrown when a state outgrows S) by writing a
// temporary file, fsyncing it, renaming it over the journal and fsyncing
// the folder.
const journalMagic = "provision-journal 2\n"

const (
	minSlot    = 16 << 10
	maxJournal = 32 << 20 // bounds what readJournal loads
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// errJournal says a journal is torn, corrupt or not a journal at all.
var errJournal = errors.New("journal is torn or corrupt")

// journalState is what one slot records.
type journalState struct {
	seq  uint64
	id   Identity
	have span.Set
}

type slotBody struct {
	Seq    uint64     `json:"seq"`
	Origin string     `json:"origin"`
	Size   int64      `json:"size"`
	SHA256 string     `json:"sha256"`
	ETag   string     `json:"etag"`
	Ranges [][2]int64 `json:"ranges"`
}

// encodeSlot returns the content of a slot for st, without padding.
func encodeSlot(st journalState) []byte {
	b := slotBody{Seq: st.seq, Origin: st.id.Origin, Size: st.id.Size,
		SHA256: st.id.SHA256, ETag: st.id.ETag, Ranges: make([][2]int64, 0, len(st.have))}
	for _, r := range st.have {
		b.Ranges = append(b.Ranges, [2]int64{r.Start, r.End})
	}
	body, err := json.Marshal(b)
	if err != nil {
		panic(err) // a struct of strings and integers always marshals
	}
	var buf bytes.Buffer
	buf.WriteString(journalMagic)
	buf.Write(body)
	buf.WriteByte('\n')
	fmt.Fprintf(&buf, "crc32c %08x\n", crc32.Checksum(buf.Bytes(), crcTable))
	return buf.Bytes()
}

// decodeSlot parses one slot, padding included. Anything but an exact
// state followed by zero bytes is errJournal; so is every strict prefix
// of a state.
func decodeSlot(slot []byte) (journalState, error) {
	rest, ok := bytes.CutPrefix(slot, []byte(journalMagic))
	if !ok {
		return journalState{}, errJournal
	}
	nl := bytes.IndexByte(rest, '\n')
	if nl < 0 {
		return journalState{}, errJournal
	}
	body := rest[:nl]
	covered := len(journalMagic) + nl + 1
	want := fmt.Sprintf("crc32c %08x\n", crc32.Checksum(slot[:covered], crcTable))
	tail, ok := bytes.CutPrefix(slot[covered:], []byte(want))
	if !ok || bytes.IndexFunc(tail, func(r rune) bool { return r != 0 }) >= 0 {
		return journalState{}, errJournal
	}

	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var b slotBody
	if err := dec.Decode(&b); err != nil || dec.More() || b.Size < -1 {
		return journalState{}, errJournal
	}
	st := journalState{seq: b.Seq,
		id: Identity{Origin: b.Origin, Size: b.Size, SHA256: b.SHA256, ETag: b.ETag}}
	prevEnd := int64(-1)
	for _, r := range b.Ranges {
		if r[0] < 0 || r[1] <= r[0] || r[0] <= prevEnd || (b.Size >= 0 && r[1] > b.Size) {
			return journalState{}, errJournal
		}
		st.have = append(st.have, span.Range{Start: r[0], End: r[1]})
		prevEnd = r[1]
	}
	return st, nil
}

// decodeJournal parses a whole journal file and returns its newest valid
// state and the slot size.
func decodeJournal(data []byte) (journalState, int, error) {
	n := len(data) / 2
	if len(data)%2 != 0 || n < minSlot || bits.OnesCount(uint(n)) != 1 {
		return journalState{}, 0, errJournal
	}
	a, errA := decodeSlot(data[:n])
	b, errB := decodeSlot(data[n:])
	switch {
	case errA == nil && (errB != nil || a.seq >= b.seq):
		return a, n, nil
	case errB == nil:
		return b, n, nil
	}
	return journalState{}, 0, errJournal
}

// readJournal loads the journal at path without following a symbolic link.
// A missing file is os.ErrNotExist; a torn or corrupt one is errJournal.
func readJournal(path string) (journalState, int, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|oNoFollow, 0)
	if err != nil {
		return journalState{}, 0, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxJournal+1))
	if err != nil {
		return journalState{}, 0, err
	}
	if len(data) > maxJournal {
		return journalState{}, 0, errJournal
	}
	return decodeJournal(data)
}

// slotSize returns the slot size for content of n bytes: room to double.
func slotSize(n int) int {
	s := minSlot
	for s < 2*n {
		s *= 2
	}
	return s
}

// journal is the open journal file of a Part. Its methods are called by
// one goroutine at a time (Part serialises checkpoints).
type journal struct {
	path string
	f    *os.File // nil until created or opened
	slot int
	seq  uint64
	buf  []byte
}

// open reuses an existing valid journal file for in-place writes.
func (j *journal) open(slot int, seq uint64) {
	f, err := os.OpenFile(j.path, os.O_RDWR|oNoFollow, 0)
	if err != nil {
		return // write creates a new one
	}
	j.f, j.slot, j.seq = f, slot, seq
}

// write makes st (with the next seq) the journal's newest state.
func (j *journal) write(id Identity, have span.Set) error {
	st := journalState{seq: j.seq + 1, id: id, have: have}
	content := encodeSlot(st)
	if j.f == nil || len(content) > j.slot {
		if err := j.create(st, content); err != nil {
			return wrapPath(err, j.path, "write journal %s", j.path)
		}
		return nil
	}
	if len(j.buf) != j.slot {
		j.buf = make([]byte, j.slot)
	}
	clear(j.buf[copy(j.buf, content):])
	if _, err := j.f.WriteAt(j.buf, int64(st.seq%2)*int64(j.slot)); err != nil {
		return wrapPath(err, j.path, "write journal %s", j.path)
	}
	if err := datasync(j.f); err != nil {
		return wrapPath(err, j.path, "sync journal %s", j.path)
	}
	j.seq = st.seq
	return nil
}

// create writes a fresh journal file holding st in slot seq%2 and an
// empty other slot, and renames it into place.
func (j *journal) create(st journalState, content []byte) error {
	slot := slotSize(len(content))
	data := make([]byte, 2*slot)
	copy(data[int(st.seq%2)*slot:], content)

	tmp := j.path + ".tmp"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err // a leftover, or a planted link: removed, never followed
	}
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC|oNoFollow, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = os.Rename(tmp, j.path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(j.path))
	}
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if j.f != nil {
		j.f.Close()
	}
	j.f, j.slot, j.seq = f, slot, st.seq
	return nil
}

// close closes the journal file, if open.
func (j *journal) close() {
	if j.f != nil {
		j.f.Close()
		j.f = nil
	}
}

// syncDir fsyncs a folder so that renames and creations in it are durable.
// Filesystems that cannot sync a folder (EINVAL) are taken as done.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	d.Close()
	if err != nil && errors.Is(err, syscall.EINVAL) {
		return nil
	}
	return err
}
