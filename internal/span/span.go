// Package span holds half-open byte ranges and sorted sets of them, the
// common currency of the engine (what to fetch) and the store (what is on disk).
package span

import (
	"fmt"
	"sort"
)

// Range is the half-open byte interval [Start, End).
type Range struct {
	Start, End int64
}

// Len returns the number of bytes in r (0 when r is empty or inverted).
func (r Range) Len() int64 {
	if r.End <= r.Start {
		return 0
	}
	return r.End - r.Start
}

// String formats r the way an HTTP Range header would: inclusive ends.
func (r Range) String() string { return fmt.Sprintf("%d-%d", r.Start, r.End-1) }

// Set is a sorted list of disjoint, non-adjacent ranges. The zero value is empty.
// A Set is not safe for concurrent use.
type Set []Range

// Add returns s with r merged in.
func (s Set) Add(r Range) Set {
	if r.Len() == 0 {
		return s
	}
	out := make(Set, 0, len(s)+1)
	i := 0
	for ; i < len(s) && s[i].End < r.Start; i++ {
		out = append(out, s[i])
	}
	for ; i < len(s) && s[i].Start <= r.End; i++ {
		r.Start = min(r.Start, s[i].Start)
		r.End = max(r.End, s[i].End)
	}
	out = append(out, r)
	return append(out, s[i:]...)
}

// Normalize returns the ranges of rs as a Set, sorting and merging them.
func Normalize(rs []Range) Set {
	sorted := append([]Range(nil), rs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Start < sorted[j].Start })
	var s Set
	for _, r := range sorted {
		s = s.Add(r)
	}
	return s
}

// Total returns the number of bytes covered by s.
func (s Set) Total() int64 {
	var n int64
	for _, r := range s {
		n += r.Len()
	}
	return n
}

// Missing returns the parts of [0, size) that s does not cover, in order.
func (s Set) Missing(size int64) []Range {
	var out []Range
	var at int64
	for _, r := range s {
		if r.Start >= size {
			break
		}
		if r.Start > at {
			out = append(out, Range{at, r.Start})
		}
		at = max(at, r.End)
	}
	if at < size {
		out = append(out, Range{at, size})
	}
	return out
}

// Prefix returns how many bytes from offset 0 s covers without a gap.
func (s Set) Prefix() int64 {
	if len(s) == 0 || s[0].Start > 0 {
		return 0
	}
	return s[0].End
}

// Covers reports whether s covers all of [0, size).
func (s Set) Covers(size int64) bool { return len(s.Missing(size)) == 0 }
