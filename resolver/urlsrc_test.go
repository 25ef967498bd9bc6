package resolver

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"provision/bench/sim"
)

func plainEntry(u string) *Entry {
	return &Entry{Key: "models.upscale_models.u", Category: "upscale_models", Name: "u",
		Source: URL, URL: u}
}

// TestURLNames is CASES.md C7 for plain URLs: the manifest's filename
// wins, then Content-Disposition (raw UTF-8, filename*, traversal), then the
// URL path.
func TestURLNames(t *testing.T) {
	s := startSim(t)
	r, _ := newTestResolver(Config{HFEndpoint: s.HubURL, CivitAIEndpoint: s.CivitAIURL})
	cases := []struct {
		file, filename, want string
	}{
		{"models/4x-UltraSharp.pth", "", "4x-UltraSharp.pth"},
		{"models/4x-UltraSharp.pth", "sharp.pth", "sharp.pth"},
		{"models/4x-UltraSharp.pth", "../../up/sharp.pth", "sharp.pth"},
		{"download/zen", "", "青禅_Zen.safetensors"},
		{"download/zen-ext", "", "青禅_Zen.safetensors"},
		{"download/evil", "", "x.safetensors"},
		{"EasyNegative.safetensors", "", "EasyNegative.safetensors"},
	}
	for _, c := range cases {
		e := plainEntry(s.FilesURL + "/" + c.file)
		e.Filename = c.filename
		ts, err := r.Resolve(context.Background(), e)
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		pf := s.Catalog.File(c.file)
		if ts[0].Rel != c.want || ts[0].Size != pf.Size || ts[0].URL != e.URL {
			t.Errorf("%s: got %q %d %s, want %q %d", c.file, ts[0].Rel, ts[0].Size, ts[0].URL,
				c.want, pf.Size)
		}
	}
}

func TestURLCustomHeaders(t *testing.T) {
	s := startSim(t)
	r, _ := newTestResolver(Config{})
	ctx := context.Background()
	e := plainEntry(s.FilesURL + "/private/model.safetensors")
	_, err := r.Resolve(ctx, e)
	if !errors.Is(err, ErrAuthRequired) || !strings.Contains(err.Error(), "add headers") {
		t.Fatalf("without header: %v", err)
	}
	e.Headers = map[string]string{"X-Api-Key": "wrong"}
	if _, err = r.Resolve(ctx, e); !errors.Is(err, ErrNotApproved) {
		t.Fatalf("wrong header: %v", err)
	}
	e.Headers = map[string]string{"X-Api-Key": sim.DemoAPIKey}
	ts, err := r.Resolve(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	pf := s.Catalog.File("private/model.safetensors")
	if ts[0].Header.Get("X-Api-Key") != sim.DemoAPIKey || ts[0].Size != pf.Size {
		t.Fatalf("target %+v", ts[0])
	}
	if got := fetch(t, ts[0]); sum(got) != pf.SHA256() {
		t.Fatal("bytes differ")
	}
}

// TestURLHeadersStayOnTheirHost: a header written for the first host is
// not sent where it redirects, and the Target carries it only for its host.
func TestURLHeadersStayOnTheirHost(t *testing.T) {
	c := newCDN(t)
	signed := c.sign("m.safetensors", body("m", 4096), "")
	var sigs atomic.Int32
	first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Key") != "k1" || r.Header.Get("Authorization") != "Bearer a1" {
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
		n := sigs.Add(1)
		http.Redirect(w, r, strings.Replace(signed, "sig=", "sig="+strconv.Itoa(int(n)), 1),
			http.StatusFound)
	}))
	defer first.Close()
	r, _ := newTestResolver(Config{})
	e := plainEntry(first.URL + "/dl/m.safetensors?id=7")
	e.Headers = map[string]string{"X-Key": "k1", "Authorization": "Bearer a1"}
	ts, err := r.Resolve(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	tg := ts[0]
	if !strings.HasPrefix(tg.URL, c.srv.URL) || tg.Header != nil || tg.Size != 4096 ||
		tg.Rel != "m.safetensors" || tg.Origin != first.URL+"/dl/m.safetensors?…" {
		t.Fatalf("target %+v", tg)
	}
	for _, s := range c.all() {
		if s.header.Get("X-Key") != "" || s.auth != "" {
			t.Fatalf("the redirect target received the first host's headers: %v", s.header)
		}
	}
	u, h, err := tg.Refresh(context.Background())
	if err != nil || u == tg.URL || !strings.HasPrefix(u, c.srv.URL) || h != nil {
		t.Fatalf("refresh %s %v %v", u, h, err)
	}
}

// TestURLProbeFallsBackToRangedGET: a server that refuses HEAD is asked
// for one byte; the size comes from Content-Range and the name from the
// unescaped path.
func TestURLProbeFallsBackToRangedGET(t *testing.T) {
	b := body("z", 1000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		http.ServeContent(w, r, "", time.Time{}, strings.NewReader(string(b)))
	}))
	defer srv.Close()
	r, _ := newTestResolver(Config{})
	ts, err := r.Resolve(context.Background(),
		plainEntry(srv.URL+"/f/%E9%9D%92_Zen.safetensors?sig=abc"))
	if err != nil {
		t.Fatal(err)
	}
	if ts[0].Size != 1000 || ts[0].Rel != "青_Zen.safetensors" {
		t.Fatalf("target %+v", ts[0])
	}
}

// TestURLWebPagesAreNotFiles is CASES.md C9: a /blob/ page link is
// rewritten to the file, and a page where a model should be is refused.
func TestURLWebPagesAreNotFiles(t *testing.T) {
	s := startSim(t)
	r, _ := newTestResolver(Config{HFEndpoint: s.HubURL})
	ctx := context.Background()

	repo := s.Catalog.Repo("stabilityai/stable-diffusion-xl-base-1.0")
	f := repo.File("sd_xl_base_1.0.safetensors")
	e := plainEntry(s.HubURL + "/stabilityai/stable-diffusion-xl-base-1.0/blob/main/" +
		"sd_xl_base_1.0.safetensors")
	ts, err := r.Resolve(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	if ts[0].SHA256 != f.SHA256() || ts[0].Size != f.Size || !strings.HasPrefix(ts[0].URL,
		s.CDNURL) || ts[0].Rel != "sd_xl_base_1.0.safetensors" {
		t.Fatalf("target %+v", ts[0])
	}
	if got := fetch(t, ts[0]); sum(got) != f.SHA256() {
		t.Fatal("bytes differ")
	}

	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(strings.Repeat("x", 635)))
	}))
	defer page.Close()
	for _, p := range []string{"/m.safetensors", "/download?id=3"} {
		_, err = r.Resolve(ctx, plainEntry(page.URL+p))
		if !errors.Is(err, ErrNotAFile) || !strings.Contains(err.Error(), "text/html") {
			t.Fatalf("%s: got %v", p, err)
		}
	}
	ts, err = r.Resolve(ctx, plainEntry(page.URL+"/readme.html"))
	if err != nil || ts[0].Rel != "readme.html" {
		t.Fatalf("an .html file is a file: %v", err)
	}
}

func TestURLFailures(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/busy":
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		case "/broken":
			w.WriteHeader(http.StatusBadGateway)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	r, fs := newTestResolver(Config{Retries: 2})
	ctx := context.Background()
	cases := map[string]error{
		"/gone.pth": ErrFileNotFound, "/busy": ErrRateLimited, "/broken": ErrUnavailable,
	}
	for p, kind := range cases {
		_, err := r.Resolve(ctx, plainEntry(srv.URL+p+"?token=SECRETTOKEN"))
		if !errors.Is(err, kind) || strings.Contains(err.Error(), "SECRETTOKEN") {
			t.Errorf("%s: got %v", p, err)
		}
	}
	if len(fs.all()) != 2 {
		t.Errorf("waits %v", fs.all())
	}
	for _, raw := range []string{"ftp://h/x", "not a url", "https:///nohost"} {
		if _, err := r.Resolve(ctx, plainEntry(raw)); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: got %v", raw, err)
		}
	}
	srv.Close()
	_, err := r.Resolve(ctx, plainEntry(srv.URL+"/x.pth?token=SECRETTOKEN"))
	if !errors.Is(err, ErrUnavailable) || strings.Contains(err.Error(), "SECRETTOKEN") {
		t.Errorf("unreachable: %v", err)
	}
}

// TestSHA256Pin: a manifest sha256 is kept on the target, and one that
// differs from the source's is an error before any byte is fetched.
func TestSHA256Pin(t *testing.T) {
	h := newFakeHub(t)
	r, _ := newTestResolver(Config{HFEndpoint: h.srv.URL})
	e := hfEntry("org/public", "model.safetensors")
	e.SHA256 = strings.ToUpper(sum(body("model", 5000)))
	ts, err := r.Resolve(context.Background(), e)
	if err != nil || ts[0].SHA256 != sum(body("model", 5000)) {
		t.Fatalf("pin: %v", err)
	}
	e.SHA256 = strings.Repeat("0", 64)
	if _, err := r.Resolve(context.Background(), e); !errors.Is(err, ErrPinMismatch) {
		t.Fatalf("got %v", err)
	}
	c := hfEntry("org/public", "config.json")
	c.SHA256 = strings.Repeat("a", 64)
	if ts, err := r.Resolve(context.Background(), c); err != nil || ts[0].SHA256 != c.SHA256 {
		t.Fatalf("a pin where the source knows no sha256: %v", err)
	}
}
