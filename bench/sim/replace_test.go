package sim

import (
	"net/http"
	"testing"
)

func TestReplaceAndConditionalRanges(t *testing.T) {
	s := start(t, Config{})
	f := s.Catalog.Repo("comfyanonymous/flux_text_encoders").File("clip_l.safetensors")
	oldSHA, oldSeed := f.SHA256(), f.Seed()
	u := signed(t, s, "comfyanonymous/flux_text_encoders", f.Path, "")
	resp, _ := get(t, noFollow, u, map[string]string{"Range": "bytes=0-99"})
	etag := resp.Header.Get("ETag")

	// Under the current ETag, If-Range keeps the range and If-Match passes.
	cond := map[string]string{"Range": "bytes=100-199", "If-Range": etag, "If-Match": etag}
	if resp, body := get(t, noFollow, u, cond); resp.StatusCode != 206 || len(body) != 100 {
		t.Fatalf("current ETag: %d, %d bytes", resp.StatusCode, len(body))
	}

	if err := s.Replace("comfyanonymous/flux_text_encoders/clip_l.safetensors", 3<<20); err != nil {
		t.Fatal(err)
	}
	if f.Gen != 1 || f.Size != 3<<20 || f.SHA256() == oldSHA || f.Seed() == oldSeed {
		t.Fatalf("catalog entry not replaced: gen %d size %d", f.Gen, f.Size)
	}
	// The hub shows the new file; the old signed URL serves the new bytes.
	resp, _ = get(t, noFollow, s.HubURL+"/comfyanonymous/flux_text_encoders/resolve/main/"+
		f.Path, nil)
	if resp.Header.Get("X-Linked-Etag") != `"`+f.SHA256()+`"` ||
		resp.Header.Get("X-Linked-Size") != "3145728" {
		t.Errorf("hub after replace: %s %s", resp.Header.Get("X-Linked-Etag"),
			resp.Header.Get("X-Linked-Size"))
	}
	// A stale If-Range gets the whole new file; a stale If-Match 412.
	resp, body := get(t, noFollow, u, map[string]string{"Range": "bytes=100-199",
		"If-Range": etag})
	if resp.StatusCode != 200 || sum(body) != f.SHA256() {
		t.Errorf("stale If-Range: %d, %d bytes", resp.StatusCode, len(body))
	}
	resp, _ = get(t, noFollow, u, map[string]string{"Range": "bytes=100-199", "If-Match": etag})
	if resp.StatusCode != http.StatusPreconditionFailed {
		t.Errorf("stale If-Match: %d", resp.StatusCode)
	}
	if st := s.Stats(); st.File(f.Seed()).Requests != 2 || st.File(oldSeed).Requests != 2 {
		t.Errorf("stats per generation: new %d old %d", st.File(f.Seed()).Requests,
			st.File(oldSeed).Requests)
	}
	if err := s.Replace("username/embeddings-collection/README.md", 10); err == nil {
		t.Error("replaced a Body file")
	}
}
