package store

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"provision/internal/span"
)

// journalStates writes the given sets as successive states of a journal
// and returns the file's bytes and the path.
func journalStates(t *testing.T, id Identity, sets ...span.Set) ([]byte, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "m.part.journal")
	j := journal{path: path}
	defer j.close()
	for _, s := range sets {
		if err := j.write(id, s); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data, path
}

func TestJournalRoundTrip(t *testing.T) {
	id := Identity{Origin: "https://hub.example/org/repo/resolve/main/m.safetensors",
		Size: 1 << 30, SHA256: "ab12", ETag: `"e-1"`}
	sets := []span.Set{nil, {rg(0, 100)}, {rg(0, 100), rg(200, 1<<20)}, {rg(0, 1<<20)}}
	for n := 1; n <= len(sets); n++ {
		data, path := journalStates(t, id, sets[:n]...)
		if len(data) != 2*minSlot {
			t.Fatalf("journal grew to %d bytes", len(data))
		}
		st, slot, err := readJournal(path)
		if err != nil || st.id != id || st.seq != uint64(n) || slot != minSlot ||
			!reflect.DeepEqual(st.have, sets[n-1]) {
			t.Fatalf("after %d states: %+v slot %d %v", n, st, slot, err)
		}
	}
}

func TestJournalGrows(t *testing.T) {
	var many span.Set
	for i := int64(0); i < 2000; i++ {
		many = append(many, rg(i*100, i*100+50))
	}
	id := Identity{Origin: "u", Size: 1 << 20}
	data, path := journalStates(t, id, span.Set{rg(0, 1)}, many, many[:3])
	if len(data) <= 2*minSlot {
		t.Fatalf("journal did not grow: %d bytes", len(data))
	}
	st, _, err := readJournal(path)
	if err != nil || st.seq != 3 || !reflect.DeepEqual(st.have, many[:3]) {
		t.Fatalf("grown journal: %+v %v", st, err)
	}
}

// TestJournalTorn overwrites the older slot with a new state cut at every
// byte offset, as a crash mid-write would: the reader always gets the
// newest intact state, never garbage, never a panic.
func TestJournalTorn(t *testing.T) {
	id := Identity{Origin: "o", Size: 1000, ETag: "x"}
	s2, s3, s4 := span.Set{rg(0, 10)}, span.Set{rg(0, 10), rg(20, 30)}, span.Set{rg(0, 40)}
	data, _ := journalStates(t, id, nil, s2, s3) // seq 3 is in slot 1, seq 2 in slot 0
	next := make([]byte, minSlot)
	copy(next, encodeSlot(journalState{seq: 4, id: id, have: s4}))
	// Past the longer of the two contents both slots hold zeros: one cut
	// there stands for all.
	cuts := len(encodeSlot(journalState{seq: 4, id: id, have: s4})) + 8
	for k := 0; k <= minSlot; k++ {
		if k > cuts && k < minSlot {
			continue
		}
		torn := bytes.Clone(data)
		copy(torn[:k], next[:k])
		st, _, err := decodeJournal(torn)
		switch {
		case err != nil:
			t.Fatalf("cut at %d: %v", k, err)
		case st.seq == 3 && reflect.DeepEqual(st.have, s3):
		case st.seq == 4 && reflect.DeepEqual(st.have, s4) && bytes.Equal(torn[:minSlot], next):
			// the bytes on disk are those of a complete write
		default:
			t.Fatalf("cut at %d: got %+v", k, st)
		}
	}
	// A file cut short is not a journal at all.
	for n := 0; n < len(data); n += 97 {
		if _, _, err := decodeJournal(data[:n]); !errors.Is(err, errJournal) {
			t.Fatalf("file cut at %d: %v", n, err)
		}
	}
}

// TestJournalCorrupt flips every bit of the newest state: the reader
// falls back to the older state, never to a state nobody wrote.
func TestJournalCorrupt(t *testing.T) {
	id := Identity{Origin: "o", Size: 1000, ETag: "x"}
	s1, s2 := span.Set{rg(0, 10)}, span.Set{rg(0, 500)}
	data, _ := journalStates(t, id, s1, s2) // seq 2 in slot 0, seq 1 in slot 1
	n := len(encodeSlot(journalState{seq: 2, id: id, have: s2}))
	for i := 0; i < n+4; i++ {
		for bit := 0; bit < 8; bit++ {
			c := bytes.Clone(data)
			c[i] ^= 1 << bit
			st, _, err := decodeJournal(c)
			if err != nil || st.seq != 1 || !reflect.DeepEqual(st.have, s1) {
				t.Fatalf("bit %d of byte %d flipped: %+v %v", bit, i, st, err)
			}
		}
	}
}

func TestJournalRejectsBadRanges(t *testing.T) {
	cases := map[string]span.Set{
		"beyond size": {rg(0, 1001)},
		"negative":    {rg(-5, 10)},
		"empty range": {rg(5, 5)},
		"unsorted":    {rg(50, 60), rg(0, 10)},
		"adjacent":    {rg(0, 10), rg(10, 20)},
	}
	for name, have := range cases {
		// encodeSlot writes what it is given, checksum and all.
		slot := make([]byte, minSlot)
		copy(slot, encodeSlot(journalState{seq: 1, id: Identity{Size: 1000}, have: have}))
		if _, err := decodeSlot(slot); err == nil {
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

// checkState fails when a decoded state breaks the journal's invariants.
func checkState(t *testing.T, st journalState) {
	if st.id.Size < -1 {
		t.Fatalf("size %d accepted", st.id.Size)
	}
	var prev int64 = -1
	for _, r := range st.have {
		if r.Start < 0 || r.End <= r.Start || r.Start <= prev ||
			(st.id.Size >= 0 && r.End > st.id.Size) {
			t.Fatalf("bad set accepted: %v (size %d)", st.have, st.id.Size)
		}
		prev = r.End
	}
	// What decodes encodes back to the same state.
	slot := make([]byte, slotSize(len(encodeSlot(st))))
	copy(slot, encodeSlot(st))
	again, err := decodeSlot(slot)
	if err != nil || !reflect.DeepEqual(again, st) {
		t.Fatalf("re-encode: %+v %v", again, err)
	}
}

func FuzzDecodeSlot(f *testing.F) {
	f.Add(encodeSlot(journalState{seq: 3, id: Identity{Origin: "o", Size: 100, ETag: "e"},
		have: span.Set{rg(0, 10), rg(20, 30)}}))
	f.Add(append(encodeSlot(journalState{id: Identity{Size: -1}}), 0, 0, 0))
	f.Add([]byte(journalMagic + "{}\ncrc32c 00000000\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if st, err := decodeSlot(data); err == nil {
			checkState(t, st)
		}
		if st, _, err := decodeJournal(data); err == nil {
			checkState(t, st)
		}
	})
}

// FuzzJournalBody fuzzes the JSON line behind a valid checksum, so the
// fuzzer reaches the parser and the range checks.
func FuzzJournalBody(f *testing.F) {
	f.Add([]byte(`{"seq":1,"origin":"o","size":100,"sha256":"","etag":"e",` +
		`"ranges":[[0,10],[20,30]]}`))
	f.Add([]byte(`{"origin":"","size":-1,"sha256":"","etag":"","ranges":[]}`))
	f.Add([]byte(`{"size":5,"ranges":[[0,9]]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		data := append([]byte(journalMagic), body...)
		data = append(data, '\n')
		data = fmt.Appendf(data, "crc32c %08x\n", crc32.Checksum(data, crcTable))
		if st, err := decodeSlot(data); err == nil {
			checkState(t, st)
		}
	})
}
