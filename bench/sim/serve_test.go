package sim

import "testing"

func TestParseRange(t *testing.T) {
	tests := []struct {
		h           string
		size        int64
		start, end  int64
		partial, ok bool
	}{
		{"", 10, 0, 10, false, true},
		{"bytes=0-0", 10, 0, 1, true, true},
		{"bytes=3-", 10, 3, 10, true, true},
		{"bytes=-3", 10, 7, 10, true, true},
		{"bytes=-30", 10, 0, 10, true, true},
		{"bytes=5-100", 10, 5, 10, true, true},
		{"bytes=10-", 10, 0, 0, false, false},
		{"bytes=-0", 10, 0, 0, false, false},
		{"bytes=0-", 0, 0, 0, false, false},
		{"bytes=4-2", 10, 0, 10, false, true},
		{"bytes=0-1,3-4", 10, 0, 10, false, true},
		{"items=0-1", 10, 0, 10, false, true},
		{"bytes=x-1", 10, 0, 10, false, true},
	}
	for _, tt := range tests {
		start, end, partial, ok := parseRange(tt.h, tt.size)
		if start != tt.start || end != tt.end || partial != tt.partial || ok != tt.ok {
			t.Errorf("parseRange(%q, %d) = %d, %d, %v, %v", tt.h, tt.size, start, end, partial, ok)
		}
	}
}

func FuzzParseRange(f *testing.F) {
	for _, h := range []string{"bytes=0-9", "bytes=-5", "bytes=7-", "bytes=1-2,3-4", ""} {
		f.Add(h, int64(100))
	}
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size < 0 {
			return
		}
		start, end, partial, ok := parseRange(h, size)
		switch {
		case !ok:
			if partial {
				t.Fatal("unsatisfiable and partial")
			}
		case partial:
			if start < 0 || start >= end || end > size {
				t.Fatalf("partial range %d-%d of %d", start, end, size)
			}
		default:
			if start != 0 || end != size {
				t.Fatalf("whole answer %d-%d of %d", start, end, size)
			}
		}
	})
}
