package resolver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// driveWarning is a large-file confirmation page in the shape Google
// Drive serves it.
const driveWarning = `<!DOCTYPE html><html><head><title>Google Drive - Virus scan warning` +
	`</title></head><body><div class="uc-main"><p class="uc-warning-subcaption">` +
	`Google Drive can't scan this file for viruses.</p>` +
	`<form id="download-form" action="%s" method="get">` +
	`<input type="submit" id="uc-download-link" value="Download anyway"/>` +
	`<input type="hidden" name="id" value="FILEID">` +
	`<input type="hidden" name="export" value="download">` +
	`<input type="hidden" name="confirm" value="t">` +
	`<input type="hidden" name='uuid' value=abc-123&amp;x></form></div></body></html>`

func TestDriveConfirmationPageIsFollowed(t *testing.T) {
	b := body("drive", 3000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		switch {
		case r.URL.Path == "/uc" && q.Get("id") == "FILEID":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, driveWarning, "/download")
		case r.URL.Path == "/download" && q.Get("confirm") == "t" &&
			q.Get("uuid") == "abc-123&x" && q.Get("export") == "download":
			w.Header().Set("Content-Disposition", `attachment; filename="big model.safetensors"`)
			w.Header().Set("Content-Type", "application/octet-stream")
			http.ServeContent(w, r, "", time.Time{}, strings.NewReader(string(b)))
		case r.URL.Path == "/quota":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html><title>Google Drive - Quota exceeded</title>Too many users "+
				"have viewed or downloaded this file recently.</html>")
		default:
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html>Sign in to continue</html>")
		}
	}))
	defer srv.Close()
	r, _ := newTestResolver(Config{})
	ctx := context.Background()

	ts, err := r.Resolve(ctx, plainEntry(srv.URL+"/uc?id=FILEID&export=download"))
	if err != nil {
		t.Fatal(err)
	}
	tg := ts[0]
	if tg.Rel != "big model.safetensors" || tg.Size != 3000 ||
		!strings.Contains(tg.URL, "/download?") {
		t.Fatalf("target %+v", tg)
	}
	if got := fetch(t, tg); sum(got) != sum(b) {
		t.Fatal("bytes differ")
	}
	if u, _, err := tg.Refresh(ctx); err != nil || !strings.Contains(u, "confirm=t") {
		t.Fatalf("refresh %s %v", u, err)
	}

	for p, want := range map[string]string{"/quota": "download quota is exceeded",
		"/private": "asks to sign in"} {
		_, err = r.Resolve(ctx, plainEntry(srv.URL+p))
		if !errors.Is(err, ErrNotAFile) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v", p, err)
		}
	}
}

func TestGitLFSPointerIsNotAFile(t *testing.T) {
	sha := strings.Repeat("ab", 32)
	pointer := "version https://git-lfs.github.com/spec/v1\noid sha256:" + sha +
		"\nsize 123456789\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, pointer)
	}))
	defer srv.Close()
	r, _ := newTestResolver(Config{})
	_, err := r.Resolve(context.Background(), plainEntry(srv.URL+"/o/r/main/m.safetensors"))
	if !errors.Is(err, ErrNotAFile) || !strings.Contains(err.Error(), "Git LFS pointer") ||
		!strings.Contains(err.Error(), "123456789-byte") {
		t.Fatalf("got %v", err)
	}

	got, size, ok := lfsPointer([]byte(pointer))
	if !ok || got != sha || size != 123456789 {
		t.Fatalf("lfsPointer = %s %d %v", got, size, ok)
	}
	if _, _, ok := lfsPointer([]byte("version 1\nhello")); ok {
		t.Fatal("not a pointer")
	}
	u, _ := url.Parse("https://raw.githubusercontent.com/o/r/main/dir/m%20x.safetensors")
	if m := githubMedia(u); m !=
		"https://media.githubusercontent.com/media/o/r/main/dir/m%20x.safetensors" {
		t.Fatalf("media %s", m)
	}
	u, _ = url.Parse("https://example.com/o/r/main/m.safetensors")
	if githubMedia(u) != "" {
		t.Fatal("only raw GitHub links have a media URL")
	}
}

func TestConfirmURL(t *testing.T) {
	base, _ := url.Parse("https://drive.example/uc?id=1&export=download")
	cases := []struct{ page, want string }{
		{fmt.Sprintf(driveWarning, "https://dl.example/download"),
			"https://dl.example/download?confirm=t&export=download&id=FILEID&uuid=abc-123%26x"},
		{`<html><a id="uc-download-link" href="/uc?export=download&amp;confirm=XyZ&amp;id=1">` +
			`Download anyway</a></html>`,
			"https://drive.example/uc?export=download&confirm=XyZ&id=1"},
		{`<FORM ACTION="/x"><INPUT TYPE="hidden" NAME="confirm" VALUE="c"></FORM>`,
			"https://drive.example/x?confirm=c"},
		{`<form action="/search"><input type="text" name="q"></form>`, ""},
		{`<html><body>nothing here</body></html>`, ""},
		{`<form`, ""},
		{`<form action="/x"><input type="hidden" name="confirm" value="`, ""},
	}
	for _, c := range cases {
		if got := confirmURL([]byte(c.page), base); got != c.want {
			t.Errorf("confirmURL(%q) = %q, want %q", c.page, got, c.want)
		}
	}
}

func FuzzConfirmURL(f *testing.F) {
	f.Add(fmt.Sprintf(driveWarning, "/download"))
	f.Add(`<a href="/uc?confirm=1">`)
	f.Add(`<form action='x' id=download-form><input type=hidden name=a value=b>`)
	base, _ := url.Parse("https://drive.example/uc?id=1")
	f.Fuzz(func(t *testing.T, page string) {
		if got := confirmURL([]byte(page), base); got != "" {
			if _, err := url.Parse(got); err != nil {
				t.Fatalf("confirmURL gave an unparsable %q", got)
			}
		}
		_ = tags([]byte(page), "input")
	})
}
