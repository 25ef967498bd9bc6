package resolver

import (
	"net/url"
	"strings"

	"provision/internal/fname"
)

// ParseContentDisposition returns the file name a Content-Disposition
// header value gives, following RFC 6266: filename* (RFC 8187,
// "UTF-8”percent-encoded" or ISO-8859-1) wins over filename; quoted
// strings, backslash escapes, raw UTF-8 bytes and a trailing ';' are
// accepted, and the disposition type may be missing. The name is made safe
// with fname.Base: it never holds a path separator, a control character or
// a leading dot. ok is false when the header names no usable file.
func ParseContentDisposition(h string) (name string, ok bool) {
	var plain, ext string
	for _, p := range dispositionParams(h) {
		switch p.key {
		case "filename*":
			if v, ok := decodeExtValue(p.value); ok && ext == "" {
				ext = v
			}
		case "filename":
			if plain == "" {
				plain = p.value
			}
		}
	}
	for _, cand := range []string{ext, plain} {
		if n := fname.Base(cand); n != "" {
			return n, true
		}
	}
	return "", false
}

// dispParam is one "key=value" of a header, the value unquoted.
type dispParam struct{ key, value string }

// dispositionParams splits a header value into its parameters; the
// disposition type (a part without '=') is skipped. Quoted values may hold
// ';' and escaped quotes.
func dispositionParams(h string) []dispParam {
	var out []dispParam
	i := 0
	for i < len(h) {
		for i < len(h) && (h[i] == ';' || h[i] == ' ' || h[i] == '\t') {
			i++
		}
		start := i
		for i < len(h) && h[i] != '=' && h[i] != ';' {
			i++
		}
		key := strings.ToLower(strings.TrimSpace(h[start:i]))
		if i >= len(h) || h[i] == ';' {
			continue // the disposition type, or a stray word
		}
		i++ // '='
		for i < len(h) && (h[i] == ' ' || h[i] == '\t') {
			i++
		}
		var val string
		if i < len(h) && h[i] == '"' {
			var b strings.Builder
			i++
			for i < len(h) && h[i] != '"' {
				if h[i] == '\\' && i+1 < len(h) {
					i++
				}
				b.WriteByte(h[i])
				i++
			}
			i++ // closing quote, if any
			val = b.String()
			for i < len(h) && h[i] != ';' {
				i++
			}
		} else {
			start := i
			for i < len(h) && h[i] != ';' {
				i++
			}
			val = strings.TrimSpace(h[start:i])
		}
		if key != "" {
			out = append(out, dispParam{key: key, value: val})
		}
	}
	return out
}

// decodeExtValue decodes an RFC 8187 value: charset'language'pct-encoded.
// UTF-8 and ISO-8859-1 are understood; anything else is refused.
func decodeExtValue(v string) (string, bool) {
	v = strings.Trim(v, `"`)
	charset, rest, ok := strings.Cut(v, "'")
	if !ok {
		return "", false
	}
	_, enc, ok := strings.Cut(rest, "'")
	if !ok {
		return "", false
	}
	raw, err := url.PathUnescape(enc)
	if err != nil {
		return "", false
	}
	switch strings.ToLower(strings.TrimSpace(charset)) {
	case "utf-8", "utf8":
		return raw, true
	case "iso-8859-1", "latin1":
		r := make([]rune, 0, len(raw))
		for i := 0; i < len(raw); i++ {
			r = append(r, rune(raw[i]))
		}
		return string(r), true
	}
	return "", false
}
