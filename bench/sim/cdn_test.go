package sim

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// signed returns the CDN URL the hub redirects to for a repo file.
func signed(t *testing.T, s *Sim, repo, file, token string) string {
	t.Helper()
	hdr := map[string]string{}
	if token != "" {
		hdr["Authorization"] = "Bearer " + token
	}
	resp, _ := get(t, noFollow, s.HubURL+"/"+repo+"/resolve/main/"+file, hdr)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("resolve %s/%s: %d", repo, file, resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

func TestCDNRanges(t *testing.T) {
	s := start(t, Config{})
	f := s.Catalog.Repo("madebyollin/sdxl-vae-fp16-fix").File("sdxl_vae.safetensors")
	u := signed(t, s, "madebyollin/sdxl-vae-fp16-fix", "sdxl_vae.safetensors", "")
	b := s.repoF[f].b
	n := f.Size
	total := "/" + strconv.FormatInt(n, 10)
	tests := []struct {
		rng        string
		status     int
		start, end int64 // expected body: [start, end)
		cr         string
	}{
		{"", 200, 0, n, ""},
		{"bytes=0-9", 206, 0, 10, "bytes 0-9" + total},
		{"bytes=70000-", 206, 70000, n, "bytes 70000-" + strconv.FormatInt(n-1, 10) + total},
		{"bytes=-5", 206, n - 5, n, "bytes " + strconv.FormatInt(n-5, 10) + "-" +
			strconv.FormatInt(n-1, 10) + total},
		{"bytes=10-" + strconv.FormatInt(n+100, 10), 206, 10, n,
			"bytes 10-" + strconv.FormatInt(n-1, 10) + total},
		{"bytes=" + strconv.FormatInt(n, 10) + "-", 416, 0, 0, "bytes */" + total[1:]},
		{"bytes=0-1,5-6", 200, 0, n, ""},
		{"bytes=9-3", 200, 0, n, ""},
	}
	for _, tt := range tests {
		t.Run(tt.rng, func(t *testing.T) {
			hdr := map[string]string{}
			if tt.rng != "" {
				hdr["Range"] = tt.rng
			}
			resp, body := get(t, noFollow, u, hdr)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if got := resp.Header.Get("Content-Range"); got != tt.cr {
				t.Errorf("Content-Range %q, want %q", got, tt.cr)
			}
			if tt.status == 416 {
				return
			}
			if !bytes.Equal(body, blobRange(b, tt.start, tt.end-tt.start)) {
				t.Errorf("body is not bytes %d-%d", tt.start, tt.end)
			}
			if resp.ContentLength != tt.end-tt.start {
				t.Errorf("Content-Length %d", resp.ContentLength)
			}
		})
	}
}

func TestCDNRefusals(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := start(t, Config{Now: clk.now})
	u := signed(t, s, "madebyollin/sdxl-vae-fp16-fix", "sdxl_vae.safetensors", "")

	resp, body := get(t, noFollow, u, map[string]string{"Authorization": "Bearer x"})
	if resp.StatusCode != 400 || !strings.Contains(string(body), "<Code>InvalidArgument</Code>") {
		t.Errorf("with Authorization: %d %s", resp.StatusCode, body)
	}
	resp, body = get(t, noFollow, strings.Replace(u, "Signature=", "Signature=0", 1), nil)
	if resp.StatusCode != 403 || !strings.Contains(string(body), "<Code>AccessDenied</Code>") {
		t.Errorf("bad signature: %d %s", resp.StatusCode, body)
	}
	clk.add(59 * time.Minute)
	resp, _ = get(t, noFollow, u, map[string]string{"Range": "bytes=0-0"})
	if resp.StatusCode != 206 {
		t.Errorf("within the hour: %d", resp.StatusCode)
	}
	clk.add(2 * time.Minute)
	resp, body = get(t, noFollow, u, nil)
	if resp.StatusCode != 403 || !strings.Contains(string(body), "<Code>AccessDenied</Code>") ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/xml") {
		t.Errorf("expired: %d %s", resp.StatusCode, body)
	}
	// A per-file lifetime (C5) shortens it.
	if err := s.SetFaults("madebyollin/sdxl-vae-fp16-fix/sdxl_vae.safetensors",
		Faults{URLLifetime: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	u = signed(t, s, "madebyollin/sdxl-vae-fp16-fix", "sdxl_vae.safetensors", "")
	clk.add(3 * time.Second)
	if resp, _ := get(t, noFollow, u, nil); resp.StatusCode != 403 {
		t.Errorf("2 s URL after 3 s: %d", resp.StatusCode)
	}
}

func TestGatedThroughToCDN(t *testing.T) {
	// The whole path with Go's default redirect policy: the token reaches
	// the hub, never the CDN.
	s := start(t, Config{})
	f := s.Catalog.Repo("black-forest-labs/FLUX.1-dev").File("flux1-dev.safetensors")
	resp, body := get(t, http.DefaultClient, s.HubURL+"/black-forest-labs/FLUX.1-dev/resolve/main/"+
		f.Path, map[string]string{"Authorization": "Bearer " + DemoHFToken})
	if resp.StatusCode != 200 || sum(body) != f.SHA256() {
		t.Fatalf("status %d sha %s", resp.StatusCode, sum(body))
	}
	st := s.Stats()
	cdn, hub := st.Seen("cdn", "Authorization"), st.Seen("hub.resolve", "Authorization")
	if len(cdn) != 0 || len(hub) != 1 {
		t.Errorf("Authorization seen: cdn %d, hub %d", len(cdn), len(hub))
	}
	fst := st.File(f.Seed())
	if fst.Bytes != f.Size || fst.Refetched() != 0 || len(fst.Ranges) != 1 {
		t.Errorf("file stats %+v", fst)
	}
}
