package sim

import (
	"encoding/binary"
	"encoding/json"
	"testing"
)

// wantSafetensors fails unless body is a whole safetensors file: a header
// length that fits, a JSON header, tensors ending exactly at the end.
func wantSafetensors(t *testing.T, what string, body []byte) {
	t.Helper()
	if len(body) < 8 {
		t.Fatalf("%s: %d bytes", what, len(body))
	}
	n := binary.LittleEndian.Uint64(body)
	if n > uint64(len(body)-8) {
		t.Fatalf("%s: header length %d in %d bytes", what, n, len(body))
	}
	var h map[string]struct {
		Offsets []int64 `json:"data_offsets"`
	}
	if err := json.Unmarshal(body[8:8+n], &h); err != nil {
		t.Fatalf("%s: header: %v", what, err)
	}
	var end int64
	for _, tn := range h {
		if len(tn.Offsets) == 2 {
			end = max(end, tn.Offsets[1])
		}
	}
	if data := int64(len(body)) - 8 - int64(n); end != data {
		t.Fatalf("%s: tensors cover %d of %d data bytes", what, end, data)
	}
}

// TestServedSafetensorsAreValid: files served under a .safetensors name
// are valid safetensors files: the default catalog's Content-Disposition
// names (download/zen, zen-ext, evil) and a .safetensors file replaced by
// a new generation, on the hub and on the plain host.
func TestServedSafetensorsAreValid(t *testing.T) {
	s := start(t, Config{})
	for _, name := range []string{"download/zen", "download/zen-ext", "download/evil"} {
		f := s.Catalog.File(name)
		resp, body := get(t, noFollow, s.FilesURL+"/"+name, nil)
		if resp.StatusCode != 200 || int64(len(body)) != f.Size || sum(body) != f.SHA256() {
			t.Fatalf("%s: %d, %d bytes", name, resp.StatusCode, len(body))
		}
		wantSafetensors(t, name, body)
	}

	if err := s.Replace("comfyanonymous/flux_text_encoders/clip_l.safetensors",
		3<<20+5); err != nil {
		t.Fatal(err)
	}
	rf := s.Catalog.Repo("comfyanonymous/flux_text_encoders").File("clip_l.safetensors")
	u := signed(t, s, "comfyanonymous/flux_text_encoders", rf.Path, "")
	resp, body := get(t, noFollow, u, nil)
	if resp.StatusCode != 200 || sum(body) != rf.SHA256() || rf.Gen != 1 {
		t.Fatalf("replaced hub file: %d, gen %d", resp.StatusCode, rf.Gen)
	}
	wantSafetensors(t, "replaced clip_l.safetensors", body)

	if err := s.Replace("EasyNegative.safetensors", 30_000); err != nil {
		t.Fatal(err)
	}
	pf := s.Catalog.File("EasyNegative.safetensors")
	resp, body = get(t, noFollow, s.FilesURL+"/EasyNegative.safetensors", nil)
	if resp.StatusCode != 200 || sum(body) != pf.SHA256() || len(body) != 30_000 {
		t.Fatalf("replaced plain file: %d, %d bytes", resp.StatusCode, len(body))
	}
	wantSafetensors(t, "replaced EasyNegative.safetensors", body)
}
