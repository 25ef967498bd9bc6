package store

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"reflect"
	"testing"

	"provision/internal/span"
)

func TestJournalRoundTrip(t *testing.T) {
	id := Identity{Origin: "https://hub.example/org/repo/resolve/main/m.safetensors",
		Size: 1 << 30, SHA256: "ab12", ETag: `"e-1"`}
	have := span.Set{{Start: 0, End: 100}, {Start: 200, End: 1 << 20}}
	gotID, gotHave, err := decodeJournal(encodeJournal(id, have))
	if err != nil || gotID != id || !reflect.DeepEqual(gotHave, have) {
		t.Fatalf("round trip: %+v %v %v", gotID, gotHave, err)
	}
	_, empty, err := decodeJournal(encodeJournal(id, nil))
	if err != nil || len(empty) != 0 {
		t.Fatalf("empty set: %v %v", empty, err)
	}
}

func TestJournalTorn(t *testing.T) {
	data := encodeJournal(Identity{Origin: "o", Size: 1000, ETag: "x"},
		span.Set{{Start: 0, End: 10}, {Start: 20, End: 30}})
	for n := 0; n < len(data); n++ {
		if _, _, err := decodeJournal(data[:n]); !errors.Is(err, errJournal) {
			t.Fatalf("journal cut at %d of %d bytes: err %v", n, len(data), err)
		}
	}
	// Every single-bit flip is caught by the checksum or the parser.
	for i := range data {
		for bit := 0; bit < 8; bit++ {
			c := bytes.Clone(data)
			c[i] ^= 1 << bit
			if _, _, err := decodeJournal(c); err == nil {
				t.Fatalf("bit %d of byte %d flipped: accepted", bit, i)
			}
		}
	}
}

func TestJournalRejectsBadRanges(t *testing.T) {
	cases := map[string]span.Set{
		"beyond size": {{Start: 0, End: 1001}},
		"negative":    {{Start: -5, End: 10}},
		"empty range": {{Start: 5, End: 5}},
		"unsorted":    {{Start: 50, End: 60}, {Start: 0, End: 10}},
		"adjacent":    {{Start: 0, End: 10}, {Start: 10, End: 20}},
	}
	for name, have := range cases {
		// encodeJournal writes what it is given, checksum and all.
		if _, _, err := decodeJournal(encodeJournal(Identity{Size: 1000}, have)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestIdentitySame(t *testing.T) {
	base := Identity{Origin: "u", Size: 10, SHA256: "aa", ETag: "e"}
	cases := []struct {
		name     string
		now, old Identity
		want     bool
	}{
		{"equal", base, base, true},
		{"other size", Identity{Origin: "u", Size: 11, SHA256: "aa", ETag: "e"}, base, false},
		{"other sha", Identity{Origin: "u", Size: 10, SHA256: "bb", ETag: "e"}, base, false},
		{"sha wins over a mirror", Identity{Origin: "m", Size: 10, SHA256: "AA"}, base, true},
		{"other etag", Identity{Origin: "u", Size: 10, ETag: "f"}, Identity{Origin: "u",
			Size: 10, ETag: "e"}, false},
		{"other origin", Identity{Origin: "v", Size: 10}, Identity{Origin: "u", Size: 10}, false},
		{"nothing known", Identity{Origin: "u", Size: -1}, Identity{Origin: "u", Size: -1}, false},
		{"unknown size, etag", Identity{Origin: "u", Size: -1, ETag: "e"},
			Identity{Origin: "u", Size: -1, ETag: "e"}, true},
	}
	for _, c := range cases {
		if got := c.now.Same(c.old); got != c.want {
			t.Errorf("%s: Same = %v, want %v", c.name, got, c.want)
		}
	}
}

func FuzzDecodeJournal(f *testing.F) {
	f.Add(encodeJournal(Identity{Origin: "o", Size: 100, ETag: "e"},
		span.Set{rg(0, 10), rg(20, 30)}))
	f.Add(encodeJournal(Identity{Size: -1}, nil))
	f.Add([]byte(journalMagic + "{}\ncrc32c 00000000\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		id, have, err := decodeJournal(data)
		if err != nil {
			return
		}
		// What decodes is a valid set that encodes back to the same meaning.
		if !reflect.DeepEqual(span.Normalize(have), have) && len(have) > 0 {
			t.Fatalf("decoded set not normalised: %v", have)
		}
		id2, have2, err := decodeJournal(encodeJournal(id, have))
		if err != nil || id2 != id || !reflect.DeepEqual(have2, have) {
			t.Fatalf("re-encode: %+v %v %v", id2, have2, err)
		}
	})
}

// FuzzJournalBody fuzzes the JSON line behind a valid checksum, so the
// fuzzer reaches the parser and the range checks.
func FuzzJournalBody(f *testing.F) {
	f.Add([]byte(`{"origin":"o","size":100,"sha256":"","etag":"e","ranges":[[0,10],[20,30]]}`))
	f.Add([]byte(`{"origin":"","size":-1,"sha256":"","etag":"","ranges":[]}`))
	f.Add([]byte(`{"size":5,"ranges":[[0,9]]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		data := append([]byte(journalMagic), body...)
		data = append(data, '\n')
		data = fmt.Appendf(data, "crc32c %08x\n", crc32.Checksum(data, crcTable))
		id, have, err := decodeJournal(data)
		if err != nil {
			return
		}
		if id.Size < -1 {
			t.Fatalf("size %d accepted", id.Size)
		}
		var prev int64 = -1
		for _, r := range have {
			if r.Start < 0 || r.End <= r.Start || r.Start <= prev ||
				(id.Size >= 0 && r.End > id.Size) {
				t.Fatalf("bad set accepted: %v (size %d)", have, id.Size)
			}
			prev = r.End
		}
	})
}
