package resolver

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const tinyManifest = "[models.lora]\ndetail = { model_id = \"135867\" }\n"

func TestLoadManifestFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "provision.toml")
	if err := os.WriteFile(p, []byte(tinyManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{p, "file://" + p, "  " + p + "\n"} {
		m, err := LoadManifest(context.Background(), nil, src, env())
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if m.Origin != p || len(m.Entries) != 1 || m.Entries[0].VersionID != "135867" {
			t.Errorf("%s: got origin %q, entries %d", src, m.Origin, len(m.Entries))
		}
	}

	big := filepath.Join(dir, "big.toml")
	data := []byte(strings.Repeat("# padding line\n", MaxManifestSize/15+1))
	if err := os.WriteFile(big, data, 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(bad, []byte("[models.lora\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ src, want string }{
		{big, "load manifest " + big + ": larger than 1024 KiB; is this the manifest?"},
		{dir, "load manifest " + dir + ": is a folder; give the .toml file"},
		{filepath.Join(dir, "missing.toml"), "load manifest: open " +
			filepath.Join(dir, "missing.toml") + ": no such file or directory"},
		{"", "load manifest: no path or URL given"},
		{"s3://bucket/m.toml?sig=secret", "load manifest s3://bucket/m.toml?…: only local " +
			"paths and http(s) URLs are supported"},
	}
	for _, tt := range tests {
		_, err := LoadManifest(context.Background(), nil, tt.src, env())
		if err == nil || err.Error() != tt.want {
			t.Errorf("%q:\n got %v\nwant %s", tt.src, err, tt.want)
		}
	}
	_, err := LoadManifest(context.Background(), nil, bad, env())
	var se *SyntaxError
	if !errors.As(err, &se) || se.File != bad || se.Line != 1 {
		t.Errorf("syntax error: %v", err)
	}
}

func TestLoadManifestURL(t *testing.T) {
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path)
		switch r.URL.Path {
		case "/m.toml", "/o/r/resolve/main/m.toml":
			w.Header().Set("Content-Type", "application/toml")
			w.Write([]byte(tinyManifest))
		case "/moved.toml":
			http.Redirect(w, r, "/m.toml", http.StatusFound)
		case "/big.toml":
			w.Write([]byte(strings.Repeat("#", MaxManifestSize+1)))
		case "/limit.toml":
			w.Write([]byte(strings.Repeat("#", MaxManifestSize)))
		case "/page.toml":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte("x = 1\n"))
		case "/sniff.toml":
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte("\ufeff\n  <!DOCTYPE html><html></html>"))
		case "/json.toml":
			w.Write([]byte(`{"error":"Not found"}`))
		case "/bad.toml":
			w.Write([]byte("[models.lora]\nx = {\n"))
		case "/private.toml":
			http.Error(w, "no", http.StatusForbidden)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	getenv := env("HF_ENDPOINT", srv.URL)

	m, err := LoadManifest(ctx, srv.Client(), srv.URL+"/m.toml?token=s3cret", getenv)
	if err != nil {
		t.Fatal(err)
	}
	if m.Origin != srv.URL+"/m.toml?…" || len(m.Entries) != 1 {
		t.Errorf("origin %q, %d entries", m.Origin, len(m.Entries))
	}
	if _, err := LoadManifest(ctx, nil, srv.URL+"/moved.toml", getenv); err != nil {
		t.Errorf("redirect with the default client: %v", err)
	}
	if _, err := LoadManifest(ctx, srv.Client(), srv.URL+"/limit.toml", getenv); err != nil {
		t.Errorf("a body of exactly MaxManifestSize: %v", err)
	}
	paths = nil
	if _, err := LoadManifest(ctx, srv.Client(), srv.URL+"/o/r/blob/main/m.toml",
		getenv); err != nil || len(paths) != 1 || paths[0] != "/o/r/resolve/main/m.toml" {
		t.Errorf("blob link on the HF endpoint: %v, asked %q", err, paths)
	}

	const page = "the server sent a web page, not TOML; use the file's raw or download link"
	tests := []struct{ path, want string }{
		{"/big.toml", "larger than 1024 KiB; is this the manifest's raw link?"},
		{"/page.toml", page},
		{"/sniff.toml", page},
		{"/nope.toml", "HTTP 404 Not Found; check the link"},
		{"/json.toml", `the server sent JSON, not TOML: "{\"error\":\"Not found\"}"`},
		{"/private.toml", "HTTP 403 Forbidden; the link needs a login: use a public or raw link"},
	}
	for _, tt := range tests {
		_, err := LoadManifest(ctx, srv.Client(), srv.URL+tt.path+"?sig=s3cret", getenv)
		want := "fetch manifest " + srv.URL + tt.path + "?…: " + tt.want
		if err == nil || err.Error() != want {
			t.Errorf("%s:\n got %v\nwant %s", tt.path, err, want)
		}
	}

	_, err = LoadManifest(ctx, srv.Client(), srv.URL+"/bad.toml?sig=s3cret", getenv)
	var se *SyntaxError
	if !errors.As(err, &se) || se.File != srv.URL+"/bad.toml?…" || se.Line != 3 {
		t.Errorf("syntax error from a URL: %v", err)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = LoadManifest(cancelled, srv.Client(), srv.URL+"/m.toml?token=s3cret", getenv)
	if !errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("cancelled: %v", err)
	}
}
