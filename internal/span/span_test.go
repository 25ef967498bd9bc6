package span

import (
	"reflect"
	"testing"
)

func TestAddMerges(t *testing.T) {
	var s Set
	s = s.Add(Range{10, 20})
	s = s.Add(Range{30, 40})
	s = s.Add(Range{0, 5})
	s = s.Add(Range{20, 30}) // bridges the two
	want := Set{{0, 5}, {10, 40}}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("got %v, want %v", s, want)
	}
	if got := s.Missing(50); !reflect.DeepEqual(got, []Range{{5, 10}, {40, 50}}) {
		t.Fatalf("missing = %v", got)
	}
	if s.Total() != 35 || s.Prefix() != 5 || s.Covers(50) {
		t.Fatalf("total %d prefix %d", s.Total(), s.Prefix())
	}
}

func TestNormalizeOverlaps(t *testing.T) {
	s := Normalize([]Range{{5, 9}, {0, 6}, {9, 9}, {20, 25}, {8, 12}})
	want := Set{{0, 12}, {20, 25}}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("got %v, want %v", s, want)
	}
	if !Normalize([]Range{{0, 3}, {3, 7}}).Covers(7) {
		t.Fatal("adjacent ranges should cover")
	}
}
