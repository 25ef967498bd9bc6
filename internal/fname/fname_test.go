package fname

import (
	"strings"
	"testing"
)

func TestBase(t *testing.T) {
	cases := []struct{ in, want string }{
		{"model.safetensors", "model.safetensors"},
		{"../../x.safetensors", "x.safetensors"},
		{`..\..\evil.pt`, "evil.pt"},
		{"/etc/passwd", "passwd"},
		{"青禅_Zen.safetensors", "青禅_Zen.safetensors"},
		{"a\x00b\nc.bin", "abc.bin"},
		{"..", ""},
		{".hidden", "hidden"},
		{"what?.pt", "what_.pt"},
		{"My Model v2.safetensors", "My Model v2.safetensors"},
	}
	for _, c := range cases {
		if got := Base(c.in); got != c.want {
			t.Errorf("Base(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	long := strings.Repeat("é", 200) + ".safetensors"
	got := Base(long)
	if len(got) > 255 || !strings.HasSuffix(got, ".safetensors") {
		t.Errorf("long name: %d bytes, %q", len(got), got[len(got)-20:])
	}
}

func TestRel(t *testing.T) {
	cases := []struct{ in, want string }{
		{"sub/dir/a.pt", "sub/dir/a.pt"},
		{"../../../etc/x", "etc/x"},
		{"/abs/./b.pt", "abs/b.pt"},
		{"a//b", "a/b"},
		{"..", ""},
	}
	for _, c := range cases {
		if got := Rel(c.in); got != c.want {
			t.Errorf("Rel(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
