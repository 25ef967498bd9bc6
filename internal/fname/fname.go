// Package fname turns names that came off the network or out of a manifest
// into names that are safe to create inside a models folder.
package fname

import (
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxName is the longest file name most Linux filesystems accept, in bytes.
const maxName = 255

// Base returns a single safe path element made from name: only its last
// path element is kept (either slash), control characters and NUL are
// dropped, reserved characters are replaced, leading dots and spaces are
// trimmed and the result is cut to 255 bytes on a rune boundary keeping the
// extension. It returns "" when nothing usable is left.
func Base(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	if !utf8.ValidString(name) {
		name = strings.ToValidUTF8(name, "_")
	}
	var b strings.Builder
	for _, r := range name {
		switch {
		case r == 0 || unicode.IsControl(r):
		case strings.ContainsRune(`<>:"|?*`, r):
			b.WriteRune('_')
		default:
			b.WriteRune(r)
		}
	}
	out := strings.TrimSpace(b.String())
	out = strings.TrimLeft(out, ". ")
	out = strings.TrimRight(out, ". ")
	if len(out) > maxName {
		ext := path.Ext(out)
		if len(ext) > 16 {
			ext = ""
		}
		stem := out[:maxName-len(ext)]
		for !utf8.ValidString(stem) {
			stem = stem[:len(stem)-1]
		}
		out = stem + ext
	}
	return out
}

// Rel returns a safe relative slash path made from p, for files that keep a
// repository's folders: every element goes through Base, and empty, "." and
// ".." elements are dropped, so the result never leaves its base folder.
// It returns "" when nothing usable is left.
func Rel(p string) string {
	p = strings.ReplaceAll(p, "\\", "/")
	var parts []string
	for _, el := range strings.Split(p, "/") {
		if el == "" || el == "." || el == ".." {
			continue
		}
		if s := Base(el); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "/")
}
