package resolver

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestParseContentDisposition covers CASES.md C7 (ii), (iv) and (v).
func TestParseContentDisposition(t *testing.T) {
	cases := []struct {
		in, want string
	}{
		{`attachment; filename="a.tar.gz";`, "a.tar.gz"},
		{`inline; filename*=UTF-8''x; filename="x";`, "x"},
		{`attachment; filename="青禅_Zen.safetensors"`, "青禅_Zen.safetensors"},
		{`attachment; filename*=UTF-8''%E9%9D%92%E7%A6%85_Zen.safetensors`,
			"青禅_Zen.safetensors"},
		{`attachment; filename="fallback.bin"; filename*=utf-8''%E9%9D%92.bin`, "青.bin"},
		{`attachment; filename*=UTF-8'en'real.bin; filename="fallback.bin"`, "real.bin"},
		{`attachment; filename*=ISO-8859-1''caf%E9.bin`, "café.bin"},
		{`attachment; filename*=KOI8-R''x.bin; filename="ok.bin"`, "ok.bin"},
		{`attachment; filename*=UTF-8''%ZZ; filename="ok.bin"`, "ok.bin"},
		{`attachment; filename="../../x.safetensors"`, "x.safetensors"},
		{`attachment; filename*=UTF-8''..%2F..%2Fetc%2Fpasswd`, "passwd"},
		{`attachment; filename="C:\\Windows\\evil.dll"`, "evil.dll"},
		{`attachment; filename="a \"quoted\" name.ckpt"`, `a _quoted_ name.ckpt`},
		{`attachment; filename="semi;colon.pt"`, "semi;colon.pt"},
		{`attachment; FILENAME=plain.pt`, "plain.pt"},
		{`filename=bare.pt`, "bare.pt"},
		{`attachment;filename = "spaced.pt" ; size=3`, "spaced.pt"},
		{`attachment; filename="..."`, ""},
		{`attachment; filename=""`, ""},
		{`attachment`, ""},
		{`inline; name="field"`, ""},
		{``, ""},
		{`attachment; filename="nul` + "\x00" + `.bin"`, "nul.bin"},
	}
	for _, c := range cases {
		got, ok := ParseContentDisposition(c.in)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("ParseContentDisposition(%q) = %q, %v; want %q", c.in, got, ok, c.want)
		}
	}
}

func FuzzParseContentDisposition(f *testing.F) {
	for _, s := range []string{
		`attachment; filename="a.tar.gz";`,
		`inline; filename*=UTF-8''x; filename="x";`,
		`attachment; filename*=UTF-8''%E9%9D%92%E7%A6%85_Zen.safetensors`,
		`attachment; filename="../../x.safetensors"`,
		`attachment; filename="\`,
		`filename*=iso-8859-1''%FF%2F..`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		name, ok := ParseContentDisposition(h)
		if ok != (name != "") {
			t.Fatalf("ok %v with name %q", ok, name)
		}
		if strings.ContainsAny(name, "/\\\x00") || name == "." || name == ".." ||
			!utf8.ValidString(name) || strings.HasPrefix(name, ".") || len(name) > 255 {
			t.Fatalf("unsafe name %q from %q", name, h)
		}
	})
}
