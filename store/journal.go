package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
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

// The journal is three lines of text:
//
//	provision-journal 1
//	{"origin":"…","size":N,"sha256":"…","etag":"…","ranges":[[start,end],…]}
//	crc32c XXXXXXXX
//
// ranges are half-open, sorted, disjoint and non-adjacent, and are only
// ever bytes whose data was synced before the journal was written. The
// checksum (CRC-32C, hex) covers the first two lines with their newlines;
// anything that does not parse exactly is "nothing known".
const journalMagic = "provision-journal 1\n"

// maxJournal bounds what readJournal will load.
const maxJournal = 16 << 20

var crcTable = crc32.MakeTable(crc32.Castagnoli)

type journalBody struct {
	Origin string     `json:"origin"`
	Size   int64      `json:"size"`
	SHA256 string     `json:"sha256"`
	ETag   string     `json:"etag"`
	Ranges [][2]int64 `json:"ranges"`
}

// encodeJournal returns the journal bytes for id and have.
func encodeJournal(id Identity, have span.Set) []byte {
	b := journalBody{Origin: id.Origin, Size: id.Size, SHA256: id.SHA256, ETag: id.ETag,
		Ranges: make([][2]int64, 0, len(have))}
	for _, r := range have {
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

// errJournal says a journal is torn, corrupt or not a journal at all.
var errJournal = errors.New("journal is torn or corrupt")

// decodeJournal parses data written by encodeJournal. Anything else,
// including every strict prefix of a valid journal, is errJournal.
func decodeJournal(data []byte) (Identity, span.Set, error) {
	rest, ok := bytes.CutPrefix(data, []byte(journalMagic))
	if !ok {
		return Identity{}, nil, errJournal
	}
	nl := bytes.IndexByte(rest, '\n')
	if nl < 0 {
		return Identity{}, nil, errJournal
	}
	body, sumLine := rest[:nl], rest[nl+1:]
	covered := len(journalMagic) + nl + 1
	want := fmt.Sprintf("crc32c %08x\n", crc32.Checksum(data[:covered], crcTable))
	if string(sumLine) != want {
		return Identity{}, nil, errJournal
	}

	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var b journalBody
	if err := dec.Decode(&b); err != nil || dec.More() {
		return Identity{}, nil, errJournal
	}
	if b.Size < -1 {
		return Identity{}, nil, errJournal
	}
	var have span.Set
	prevEnd := int64(-1)
	for _, r := range b.Ranges {
		if r[0] < 0 || r[1] <= r[0] || r[0] <= prevEnd || (b.Size >= 0 && r[1] > b.Size) {
			return Identity{}, nil, errJournal
		}
		have = append(have, span.Range{Start: r[0], End: r[1]})
		prevEnd = r[1]
	}
	return Identity{Origin: b.Origin, Size: b.Size, SHA256: b.SHA256, ETag: b.ETag}, have, nil
}

// readJournal loads the journal at path without following a symbolic link.
// A missing file is os.ErrNotExist; a torn or corrupt one is errJournal.
func readJournal(path string) (Identity, span.Set, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|oNoFollow, 0)
	if err != nil {
		return Identity{}, nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxJournal+1))
	if err != nil {
		return Identity{}, nil, err
	}
	if len(data) > maxJournal {
		return Identity{}, nil, errJournal
	}
	return decodeJournal(data)
}

// writeJournal replaces the journal at path atomically: the new content
// goes to path+".tmp", is fsynced, renamed over path, and the folder is
// fsynced, so a crash leaves either the old journal or the new one.
func writeJournal(path string, id Identity, have span.Set) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|oNoFollow, 0o644)
	if err != nil {
		return fmt.Errorf("write journal %s: %w", tmp, err)
	}
	_, err = f.Write(encodeJournal(id, have))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write journal %s: %w", path, err)
	}
	return nil
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
