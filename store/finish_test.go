package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"provision/internal/span"
)

// download writes data into a fresh Part for final and finishes it.
func download(t *testing.T, final string, id Identity, data []byte) error {
	t.Helper()
	p, err := OpenPart(final, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 0 {
		write(t, p, data, span.Range{Start: 0, End: int64(len(data))})
	}
	return p.Finish(context.Background())
}

func TestFinishWrongHash(t *testing.T) {
	final := filepath.Join(t.TempDir(), "m.bin")
	data := content(70_000, 8)
	wrong := sum([]byte("something else"))
	err := download(t, final, Identity{Origin: "u", Size: int64(len(data)), SHA256: wrong}, data)
	var verr *VerifyError
	if !errors.As(err, &verr) {
		t.Fatalf("Finish = %v, want a VerifyError", err)
	}
	want := "verify " + final + ": sha256: expected " + wrong + ", got " + sum(data)
	if err.Error() != want {
		t.Fatalf("message:\n%s\nwant\n%s", err, want)
	}
	assertGone(t, final, final+PartSuffix, final+JournalSuffix)
}

func TestFinishReplacesOnlyByRename(t *testing.T) {
	final := filepath.Join(t.TempDir(), "m.bin")
	old := []byte("the old model, still open by a UI")
	if err := os.WriteFile(final, old, 0o644); err != nil {
		t.Fatal(err)
	}
	reader, err := os.Open(final)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()

	// A failing download leaves the old file exactly as it was.
	bad := content(1000, 9)
	err = download(t, final, Identity{Origin: "u", Size: 1000, SHA256: sum(old)}, bad)
	if err == nil {
		t.Fatal("bad download finished")
	}
	assertFile(t, final, old)

	// A good one replaces it by rename: the open handle still reads the
	// old bytes, which a truncate-and-write in place would have destroyed.
	data := content(5000, 10)
	id := Identity{Origin: "u", Size: 5000, SHA256: sum(data)}
	if err := download(t, final, id, data); err != nil {
		t.Fatal(err)
	}
	assertFile(t, final, data)
	buf := make([]byte, len(old)+10)
	n, _ := reader.ReadAt(buf, 0)
	if string(buf[:n]) != string(old) {
		t.Fatalf("old file changed in place: %q", buf[:n])
	}
}

func TestFinishIncompleteKeepsPart(t *testing.T) {
	final := filepath.Join(t.TempDir(), "m.bin")
	data := content(10_000, 11)
	id := Identity{Origin: "u", Size: 10_000, ETag: "e"}
	p, err := OpenPart(final, id)
	if err != nil {
		t.Fatal(err)
	}
	write(t, p, data, span.Range{Start: 0, End: 4000})
	err = p.Finish(context.Background())
	if err == nil || !strings.Contains(err.Error(), "incomplete") {
		t.Fatalf("Finish of a partial file = %v", err)
	}
	assertGone(t, final)
	p, err = OpenPart(final, id)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if got := p.Have(); len(got) != 1 || got[0] != (span.Range{Start: 0, End: 4000}) {
		t.Fatalf("Have after failed Finish = %v", got)
	}
}

func TestFinishUnknownSize(t *testing.T) {
	final := filepath.Join(t.TempDir(), "m.bin")
	data := content(12_345, 12)
	if err := download(t, final, Identity{Origin: "u", Size: -1, ETag: "e"}, data); err != nil {
		t.Fatal(err)
	}
	assertFile(t, final, data)
	ok, err := Present(context.Background(), final, -1, "")
	if err != nil || !ok {
		t.Fatalf("Present of a finished unknown-size file = %v, %v", ok, err)
	}
}

// safetensors builds a small valid safetensors file.
func safetensors(t *testing.T) []byte {
	t.Helper()
	hdr, err := json.Marshal(map[string]any{
		"__metadata__": map[string]string{"format": "pt"},
		"a": map[string]any{"dtype": "F32", "shape": []int{2},
			"data_offsets": []int{0, 8}},
		"b": map[string]any{"dtype": "F16", "shape": []int{3},
			"data_offsets": []int{8, 14}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for len(hdr)%8 != 0 {
		hdr = append(hdr, ' ')
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(hdr)))
	out = append(out, hdr...)
	return append(out, content(14, 13)...)
}

func TestFinishSafetensorsSanity(t *testing.T) {
	good := safetensors(t)
	html := []byte("<!DOCTYPE html><html><body>Please log in</body></html>")
	cases := []struct {
		name    string
		data    []byte
		wantErr string
	}{
		{"valid", good, ""},
		{"html page", html, `the server sent an HTML page, not a safetensors file (a login ` +
			`or error page?); it starts with "<!DOCTYPE html><html><bo"`},
		{"json page", []byte(` {"error": "Repository not found", "code": 404}`),
			`the server sent a JSON document, not a safetensors file (a login or error ` +
				`page?); it starts with " {\"error\": \"Repository n"`},
		{"xml page", []byte("<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code></Error>"),
			`the server sent an XML document, not a safetensors file (a login or error ` +
				`page?); it starts with "<?xml version=\"1.0\"?><Er"`},
		{"binary junk", append([]byte{1, 2, 3, 4, 5, 6, 7, 8}, content(40, 3)...),
			`not a safetensors file: header length 578437695752307201 that does not fit ` +
				`a 48-byte file (it starts with "\x01\x02\x03\x04\x05\x06\a\b`},
		{"truncated", good[:len(good)-3],
			`not a safetensors file: tensor "b" at data bytes 8-14, beyond the 11 data bytes`},
		{"trailing junk", append(append([]byte(nil), good...), 0, 0),
			"not a safetensors file: tensors that cover 14 of the 16 data bytes"},
		{"json error", append(binary.LittleEndian.AppendUint64(nil, 15), `{"error":"nope"`...),
			"not a safetensors file: a header that is not a JSON object"},
		{"tiny", []byte("{}"), "not a safetensors file: a 2-byte file, too short for a header"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			final := filepath.Join(t.TempDir(), "model.safetensors")
			id := Identity{Origin: "u", Size: int64(len(c.data)), SHA256: sum(c.data)}
			err := download(t, final, id, c.data)
			if c.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				assertFile(t, final, c.data)
				return
			}
			var verr *VerifyError
			if !errors.As(err, &verr) || verr.Check != "safetensors" ||
				!strings.HasPrefix(verr.Got, c.wantErr) ||
				!strings.HasPrefix(err.Error(), "verify "+final+": "+c.wantErr) {
				t.Fatalf("Finish = %v\nwant got %q", err, c.wantErr)
			}
			assertGone(t, final, final+PartSuffix)
		})
	}
}

func TestFinishTwice(t *testing.T) {
	final := filepath.Join(t.TempDir(), "m.bin")
	p, err := OpenPart(final, Identity{Origin: "u", Size: 0, ETag: "e"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Finish(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.Finish(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Finish = %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close after Finish = %v", err)
	}
}

// TestFinishCanceledKeepsPart: a Finish stopped while hashing keeps the
// .part and a journal that vouches for all of it, so a rerun only verifies.
func TestFinishCanceledKeepsPart(t *testing.T) {
	final := filepath.Join(t.TempDir(), "m.bin")
	data := content(3<<20, 14)
	id := Identity{Origin: "u", Size: int64(len(data)), SHA256: sum(data)}
	o := defaults()
	o.idleHash = true
	p, err := openPart(final, id, o)
	if err != nil {
		t.Fatal(err)
	}
	write(t, p, data, rg(0, id.Size))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Finish(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Finish with a canceled ctx = %v", err)
	}
	assertGone(t, final)
	p, err = OpenPart(final, id)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Have(); !got.Covers(id.Size) {
		t.Fatalf("Have after a canceled Finish = %v", got)
	}
	if err := p.Finish(context.Background()); err != nil {
		t.Fatal(err)
	}
	assertFile(t, final, data)
}
