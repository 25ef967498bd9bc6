package engine

import (
	"testing"

	"provision/internal/span"
)

// TestStagger: on an idle Engine the first wave of a big file's automatic
// chunks grows by a k-th of a chunk per piece, the rest are whole chunks,
// and together they cover the missing bytes exactly once, holes included.
func TestStagger(t *testing.T) {
	const mib = 1 << 20
	e := New(Config{Connections: 4})
	size := int64(256 * mib) // chunks of size/(4*4) = 16 MiB
	have := span.Set{{Start: 100 * mib, End: 101 * mib}}
	ps := e.stagger(e.presplit(e.plan(size, have), 4), 4)
	want := []int64{4 * mib, 8 * mib, 12 * mib, 16 * mib}
	var got span.Set
	for i, p := range ps {
		n := p.end - p.start
		if i < len(want) && n != want[i] {
			t.Fatalf("piece %d is %d bytes, want %d", i, n, want[i])
		}
		if n > 16*mib || n <= 0 || p.pos != p.start {
			t.Fatalf("piece %d: %+v", i, *p)
		}
		got = got.Add(span.Range{Start: p.start, End: p.end})
	}
	if !got.Add(have[0]).Covers(size) || got.Total() != size-mib {
		t.Fatalf("pieces cover %v", got)
	}

	// An asked-for chunk size is kept as it is.
	e = New(Config{Connections: 4, ChunkSize: 16 * mib})
	for _, p := range e.stagger(e.plan(size, nil), 4) {
		if p.end-p.start != 16*mib {
			t.Fatalf("piece %d-%d with ChunkSize set", p.start, p.end)
		}
	}
}
