package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxHeader is the largest safetensors header the format allows.
const maxHeader = 100 << 20

// checkSafetensors checks that the size bytes of r look like a safetensors
// file: an 8-byte little-endian header length n, n bytes of JSON object,
// and tensors whose data_offsets lie within, and together reach the end
// of, the data that follows. It catches the usual impostors: an HTML or
// JSON error page, a truncated file, a file of another format.
func checkSafetensors(r io.ReaderAt, size int64) error {
	if size < 8 {
		return fmt.Errorf("not a safetensors file: a %d-byte file, too short for a header",
			size)
	}
	var lenBuf [8]byte
	if _, err := r.ReadAt(lenBuf[:], 0); err != nil {
		return fmt.Errorf("read header length: %w", err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n < 2 || n > maxHeader || n > uint64(size-8) {
		return notSafetensors(r, size, "header length %d that does not fit a %d-byte file "+
			"(it starts with %s)", n, size, preview(r, size))
	}
	hdr := make([]byte, n)
	if _, err := r.ReadAt(hdr, 8); err != nil {
		return fmt.Errorf("read header: %w", err)
	}
	var tensors map[string]json.RawMessage
	if err := json.Unmarshal(hdr, &tensors); err != nil {
		return notSafetensors(r, size, "a header that is not a JSON object: %v", err)
	}

	data := size - 8 - int64(n)
	var end int64
	for name, raw := range tensors {
		if name == "__metadata__" {
			continue
		}
		var t struct {
			Offsets []int64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(raw, &t); err != nil || len(t.Offsets) != 2 {
			return fmt.Errorf("not a safetensors file: tensor %q without valid data_offsets",
				name)
		}
		b, e := t.Offsets[0], t.Offsets[1]
		if b < 0 || e < b || e > data {
			return fmt.Errorf("not a safetensors file: tensor %q at data bytes %d-%d, "+
				"beyond the %d data bytes", name, b, e, data)
		}
		end = max(end, e)
	}
	if end != data {
		return fmt.Errorf("not a safetensors file: tensors that cover %d of the %d data "+
			"bytes", end, data)
	}
	return nil
}

// notSafetensors is the error for a file that failed the check: "the
// server sent an HTML page, not a safetensors file (a login or error
// page?)" when its bytes are a web document, else "not a safetensors file:"
// and what format and args say.
func notSafetensors(r io.ReaderAt, size int64, format string, args ...any) error {
	if kind := webText(r, size); kind != "" {
		return fmt.Errorf("the server sent %s, not a safetensors file (a login or error "+
			"page?); it starts with %s", kind, preview(r, size))
	}
	return fmt.Errorf("not a safetensors file: "+format, args...)
}

// webText names the kind of text document r holds ("an HTML page", "a JSON
// document", "an XML document"), judged from its first bytes, or returns ""
// when they are not such text. A safetensors file starts with a binary
// length whose high bytes are zero, so only a file that failed the check
// is asked.
func webText(r io.ReaderAt, size int64) string {
	buf := make([]byte, min(size, 64))
	m, _ := r.ReadAt(buf, 0)
	b := bytes.TrimPrefix(buf[:m], []byte("\xef\xbb\xbf"))
	for _, c := range b[:min(len(b), 8)] {
		if c < 0x09 || c > 0x7e || (c > 0x0d && c < 0x20) {
			return ""
		}
	}
	t := strings.ToLower(strings.TrimLeft(string(b), " \t\r\n"))
	switch {
	case strings.HasPrefix(t, "<!doctype html"), strings.HasPrefix(t, "<html"),
		strings.HasPrefix(t, "<head"), strings.HasPrefix(t, "<body"),
		strings.HasPrefix(t, "<!--"):
		return "an HTML page"
	case strings.HasPrefix(t, "<"):
		return "an XML document"
	case strings.HasPrefix(t, "{"), strings.HasPrefix(t, "["):
		return "a JSON document"
	}
	return ""
}

// preview quotes the first bytes of r for a message, so "<!DOCTYPE html>"
// shows for what it is.
func preview(r io.ReaderAt, size int64) string {
	buf := make([]byte, min(size, 24))
	m, _ := r.ReadAt(buf, 0)
	buf = buf[:m]
	for !utf8.Valid(buf) && len(buf) > 0 {
		buf = buf[:len(buf)-1]
	}
	return strconv.Quote(string(buf))
}
