package resolver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeFile is one file of a fake hub repo.
type fakeFile struct {
	body   []byte
	lfs    bool
	digest string
}

// sha is the file's sha256: its digest when set (large files hash once),
// else computed.
func (f fakeFile) sha() string {
	if f.digest != "" {
		return f.digest
	}
	return sum(f.body)
}

// fakeRepo is a repo of the fake hub.
type fakeRepo struct {
	gated, private bool
	files          map[string]fakeFile
}

// fakeHub plays the HuggingFace hub as PROTOCOLS.md describes it, with its
// CDN on another host.
type fakeHub struct {
	recorder
	srv      *httptest.Server
	cdn      *cdn
	repos    map[string]*fakeRepo // "org/name" or "datasets/org/name"
	pageSize int
}

func newFakeHub(t *testing.T) *fakeHub {
	h := &fakeHub{cdn: newCDN(t), pageSize: 1000, repos: map[string]*fakeRepo{
		"org/public": {files: map[string]fakeFile{
			"model.safetensors": {body: body("model", 5000), lfs: true},
			"config.json":       {body: []byte(`{"a": 1}`)},
			"trap.safetensors":  {},
			"sub dir/ü.bin":     {body: body("u", 300), lfs: true},
		}},
		"org/gated": {gated: true, files: map[string]fakeFile{
			"ae.safetensors": {body: body("ae", 900), lfs: true}}},
		"org/private": {private: true, files: map[string]fakeFile{
			"m.safetensors": {body: body("p", 10), lfs: true}}},
		"datasets/org/set": {files: map[string]fakeFile{
			"data/x.parquet": {body: body("x", 77), lfs: true}}},
		"org/many": {files: map[string]fakeFile{}},
		"org/big":  {files: map[string]fakeFile{}},
	}}
	for i := 0; i < 300; i++ {
		p := fmt.Sprintf("emb/e%03d.safetensors", i)
		h.repos["org/many"].files[p] = fakeFile{body: body(p, int64(100+i)), lfs: i%2 == 0}
	}
	h.srv = httptest.NewServer(h.wrap(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

// access answers for the repo's gate; ok means go on.
func (h *fakeHub) access(w http.ResponseWriter, r *http.Request, id string) (*fakeRepo, bool) {
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	valid := tok == hfGood || tok == hfUnapproved
	if tok != "" && !valid {
		writeJSON(w, http.StatusUnauthorized,
			map[string]string{"error": "Invalid credentials in Authorization header"})
		return nil, false
	}
	repo := h.repos[id]
	if repo == nil || repo.private && tok != hfGood {
		if tok == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="Authentication required"`)
			http.Error(w, "Invalid username or password.", http.StatusUnauthorized)
			return nil, false
		}
		w.Header().Set("X-Error-Code", "RepoNotFound")
		http.Error(w, "Repository not found", http.StatusNotFound)
		return nil, false
	}
	if repo.gated && tok != hfGood {
		w.Header().Set("X-Error-Code", "GatedRepo")
		if tok == "" {
			w.Header().Set("X-Error-Message", "Access restricted. You must be authenticated")
			http.Error(w, "gated", http.StatusUnauthorized)
		} else {
			w.Header().Set("X-Error-Message", "Access restricted; request access on the repo page")
			http.Error(w, "gated", http.StatusForbidden)
		}
		return nil, false
	}
	return repo, true
}

// commitOf maps a revision to its commit, or "".
func commitOf(rev string) string {
	switch rev {
	case "main", commitMain:
		return commitMain
	case "refs/pr/1", commitPR:
		return commitPR
	}
	return ""
}

func (h *fakeHub) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.EscapedPath()
	switch {
	case p == "/api/whoami-v2":
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if tok == hfGood || tok == hfUnapproved {
			writeJSON(w, http.StatusOK, map[string]any{"name": "me"})
			return
		}
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "Invalid credentials"})
	case strings.HasPrefix(p, "/api/resolve-cache/"):
		h.serveCache(w, r, strings.TrimPrefix(p, "/api/resolve-cache/"))
	case strings.HasPrefix(p, "/api/"):
		h.serveTree(w, r, strings.TrimPrefix(p, "/api/"))
	case strings.HasPrefix(p, "/org/renamed/"):
		http.Redirect(w, r, "/org/public/"+strings.TrimPrefix(p, "/org/renamed/"),
			http.StatusTemporaryRedirect)
	default:
		h.serveResolve(w, r, p)
	}
}

// serveResolve answers {repo}/resolve/{rev}/{file}.
func (h *fakeHub) serveResolve(w http.ResponseWriter, r *http.Request, p string) {
	before, after, ok := strings.Cut(strings.TrimPrefix(p, "/"), "/resolve/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	repo, ok := h.access(w, r, before)
	if !ok {
		return
	}
	escRev, escFile, _ := strings.Cut(after, "/")
	rev, _ := url.PathUnescape(escRev)
	file, _ := url.PathUnescape(escFile)
	commit := commitOf(rev)
	if commit == "" {
		w.Header().Set("X-Error-Code", "RevisionNotFound")
		http.Error(w, "Invalid rev id", http.StatusNotFound)
		return
	}
	w.Header().Set("X-Repo-Commit", commit)
	f, ok := repo.files[file]
	if !ok {
		w.Header().Set("X-Error-Code", "EntryNotFound")
		http.Error(w, "Entry not found", http.StatusNotFound)
		return
	}
	if f.body == nil { // a web page where the file should be (C9)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(strings.Repeat("<p>page</p>", 57) + "<br>"))
		return
	}
	if !f.lfs {
		w.Header().Set("X-Linked-Etag", `"`+fakeSHA1(f.sha())+`"`)
		w.Header().Set("Location", "/api/resolve-cache/"+before+"/"+commit+"/"+escFile)
		w.WriteHeader(http.StatusTemporaryRedirect)
		return
	}
	w.Header().Set("X-Linked-Size", strconv.Itoa(len(f.body)))
	w.Header().Set("X-Linked-Etag", `"`+f.sha()+`"`)
	w.Header().Set("ETag", `"`+f.sha()+`"`)
	w.Header().Set("Content-Disposition", `inline; filename*=UTF-8''x; filename="x";`)
	w.Header().Set("Location", h.cdn.sign(before+"/"+file, f.body, ""))
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusFound)
	_, _ = w.Write([]byte("Found. Redirecting"))
}

func fakeSHA1(sha256 string) string { return sha256[:40] }

// serveCache answers the small-file cache path a relative 307 points to.
func (h *fakeHub) serveCache(w http.ResponseWriter, r *http.Request, p string) {
	for id, repo := range h.repos {
		if rest, ok := strings.CutPrefix(p, id+"/"); ok {
			if _, ok := h.access(w, r, id); !ok {
				return
			}
			_, file, _ := strings.Cut(rest, "/")
			file, _ = url.PathUnescape(file)
			f := repo.files[file]
			w.Header().Set("Content-Type", "application/octet-stream")
			if strings.HasSuffix(file, ".json") {
				w.Header().Set("Content-Type", "application/json")
			}
			w.Header().Set("ETag", `"`+fakeSHA1(f.sha())+`"`)
			w.Header().Set("Content-Length", strconv.Itoa(len(f.body)))
			_, _ = w.Write(f.body)
			return
		}
	}
	http.NotFound(w, r)
}

// serveTree answers {models,datasets}/{repo}/tree/{rev}?recursive=true,
// paginated with a cursor and Link rel="next".
func (h *fakeHub) serveTree(w http.ResponseWriter, r *http.Request, p string) {
	kind, rest, _ := strings.Cut(p, "/")
	before, escRev, ok := strings.Cut(rest, "/tree/")
	if !ok || r.URL.Query().Get("recursive") != "true" {
		http.NotFound(w, r)
		return
	}
	id := before
	if kind == "datasets" {
		id = "datasets/" + before
	}
	repo := h.repos[id]
	if repo == nil || !repo.gated { // a gated repo's listing is public
		var ok bool
		if repo, ok = h.access(w, r, id); !ok {
			return
		}
	}
	rev, _ := url.PathUnescape(escRev)
	if commitOf(rev) == "" {
		w.Header().Set("X-Error-Code", "RevisionNotFound")
		http.Error(w, "Invalid rev id", http.StatusNotFound)
		return
	}
	var paths []string
	for p := range repo.files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	type lfs struct {
		OID  string `json:"oid"`
		Size int    `json:"size"`
	}
	type item struct {
		Type string `json:"type"`
		Path string `json:"path"`
		Size int    `json:"size"`
		OID  string `json:"oid"`
		LFS  *lfs   `json:"lfs,omitempty"`
	}
	items := []item{{Type: "directory", Path: "emb", OID: "d"}}
	for _, p := range paths {
		f := repo.files[p]
		it := item{Type: "file", Path: p, Size: len(f.body), OID: fakeSHA1(f.sha())}
		if f.lfs {
			it.LFS = &lfs{OID: f.sha(), Size: len(f.body)}
			it.Size = 134
		}
		items = append(items, it)
	}
	from, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
	to := min(from+h.pageSize, len(items))
	if to < len(items) {
		next := *r.URL
		q := next.Query()
		q.Set("cursor", strconv.Itoa(to))
		next.RawQuery = q.Encode()
		w.Header().Set("Link", `<`+h.srv.URL+next.String()+`>; rel="next"`)
	}
	writeJSON(w, http.StatusOK, items[from:to])
}

func hfEntry(repo, file string) *Entry {
	return &Entry{Key: "models.checkpoints.m", Category: "checkpoints", Name: "m",
		Source: HuggingFace, Repo: repo, File: file}
}

func TestHFLFSFileGoesToCDNWithoutToken(t *testing.T) {
	h := newFakeHub(t)
	r, _ := newTestResolver(Config{HFEndpoint: h.srv.URL, HFToken: hfGood})
	ts, err := r.Resolve(context.Background(), hfEntry("org/public", "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	tg := ts[0]
	want := body("model", 5000)
	if tg.Rel != "model.safetensors" || tg.Size != 5000 || tg.SHA256 != sum(want) ||
		tg.ETag != sum(want) {
		t.Fatalf("target %+v", tg)
	}
	if !strings.HasPrefix(tg.URL, h.cdn.srv.URL+"/") || tg.Header.Get("Authorization") != "" {
		t.Fatalf("URL %s header %v: want the CDN without a token", tg.URL, tg.Header)
	}
	if tg.Origin != h.srv.URL+"/org/public/resolve/main/model.safetensors" {
		t.Fatalf("origin %s", tg.Origin)
	}
	if got := fetch(t, tg); sum(got) != sum(want) {
		t.Fatal("bytes differ")
	}
	hubReqs := h.all()
	if len(hubReqs) != 1 || hubReqs[0].method != http.MethodHead ||
		hubReqs[0].auth != "Bearer "+hfGood ||
		hubReqs[0].header.Get("Accept-Encoding") != "identity" {
		t.Fatalf("hub requests %+v", hubReqs)
	}
	for _, s := range h.cdn.all() {
		if s.auth != "" {
			t.Fatal("the CDN received the token")
		}
	}
}

func TestHFSmallFileFollowsRelativeRedirectOnHub(t *testing.T) {
	h := newFakeHub(t)
	for _, tok := range []string{"", hfGood} {
		r, _ := newTestResolver(Config{HFEndpoint: h.srv.URL, HFToken: tok})
		e := hfEntry("org/public", "config.json")
		e.Filename = "model_config.json"
		ts, err := r.Resolve(context.Background(), e)
		if err != nil {
			t.Fatal(err)
		}
		tg := ts[0]
		if !strings.HasPrefix(tg.URL, h.srv.URL+"/api/resolve-cache/org/public/"+commitMain) {
			t.Fatalf("URL %s", tg.URL)
		}
		if tg.SHA256 != "" {
			t.Fatalf("a git sha1 taken for a sha256: %s", tg.SHA256)
		}
		if tg.Size != 8 || tg.Rel != "model_config.json" {
			t.Fatalf("size %d rel %s", tg.Size, tg.Rel)
		}
		if (tg.Header.Get("Authorization") != "") != (tok != "") {
			t.Fatalf("token %q header %v", tok, tg.Header)
		}
		if got := fetch(t, tg); string(got) != `{"a": 1}` {
			t.Fatalf("got %q", got)
		}
	}
}

func TestHFRevisionDatasetAndRename(t *testing.T) {
	h := newFakeHub(t)
	r, _ := newTestResolver(Config{HFEndpoint: h.srv.URL})
	ctx := context.Background()

	e := hfEntry("org/public", "sub dir/ü.bin")
	e.Revision = "refs/pr/1"
	ts, err := r.Resolve(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	if got := h.all()[0].path; got != "/org/public/resolve/refs%2Fpr%2F1/sub%20dir/%C3%BC.bin" {
		t.Fatalf("asked %s", got)
	}
	if ts[0].Rel != "ü.bin" || ts[0].Size != 300 {
		t.Fatalf("target %+v", ts[0])
	}

	d := hfEntry("org/set", "data/x.parquet")
	d.RepoType = "dataset"
	ts, err = r.Resolve(ctx, d)
	if err != nil || ts[0].SHA256 != sum(body("x", 77)) {
		t.Fatalf("dataset: %v", err)
	}

	ts, err = r.Resolve(ctx, hfEntry("org/renamed", "model.safetensors"))
	if err != nil || ts[0].Size != 5000 || !strings.HasPrefix(ts[0].URL, h.cdn.srv.URL) {
		t.Fatalf("renamed repo: %v", err)
	}
}

// TestHFAccessMessages is CASES.md C4 and its family: every way of not
// getting a file has its own kind and message, says whether a token was
// sent, and never shows the token.
func TestHFAccessMessages(t *testing.T) {
	h := newFakeHub(t)
	cases := []struct {
		name, token, repo, file, rev string
		gated                        bool
		kind                         error
		want                         []string
	}{
		{"gated no token", "", "org/gated", "ae.safetensors", "", false, ErrAuthRequired,
			[]string{"is gated", "no token was sent", "set HF_TOKEN", h.srv.URL + "/org/gated"}},
		{"gated declared no token", "", "org/gated", "ae.safetensors", "", true,
			ErrAuthRequired, []string{"is gated", "no token was sent", "set HF_TOKEN"}},
		{"gated unapproved", hfUnapproved, "org/gated", "ae.safetensors", "", false,
			ErrNotApproved, []string{"not approved", "a token was sent",
				"request access at " + h.srv.URL + "/org/gated"}},
		{"private no token", "", "org/private", "m.safetensors", "", false,
			ErrPrivateOrMissing, []string{"private or does not exist", "no token was sent",
				"set HF_TOKEN"}},
		{"private other token", hfUnapproved, "org/private", "m.safetensors", "", false,
			ErrRepoNotFound, []string{"has no repo org/private", "a token was sent"}},
		{"missing repo", hfGood, "org/nope", "m.safetensors", "", false, ErrRepoNotFound,
			[]string{"has no repo org/nope", "a token was sent"}},
		{"missing file", "", "org/public", "nope.safetensors", "", false, ErrFileNotFound,
			[]string{"has no file nope.safetensors at revision main", "no token was sent"}},
		{"bad revision", "", "org/public", "model.safetensors", "v9", false,
			ErrRevisionNotFound, []string{`no revision "v9"`}},
		{"invalid token", hfBad, "org/public", "model.safetensors", "", false, ErrInvalidToken,
			[]string{"invalid", "a token was sent", "/settings/tokens"}},
		{"html page", "", "org/public", "trap.safetensors", "", false, ErrNotAFile,
			[]string{"text/html", "trap.safetensors"}},
	}
	msgs := map[string]string{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h.setLimit(nil)
			r, _ := newTestResolver(Config{HFEndpoint: h.srv.URL, HFToken: c.token})
			e := hfEntry(c.repo, c.file)
			e.Revision, e.Gated = c.rev, c.gated
			ts, err := r.Resolve(context.Background(), e)
			if err == nil {
				t.Fatalf("resolved to %+v", ts[0])
			}
			noSecrets(t, err)
			var ee *EntryError
			if !errors.As(err, &ee) || !errors.Is(err, c.kind) {
				t.Fatalf("got %T %v, want kind %v", err, err, c.kind)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "models.checkpoints.m: ") {
				t.Fatalf("message does not name the entry: %s", msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
			if c.gated && len(h.all()) != 0 {
				t.Error("a declared gated entry without token still asked the hub")
			}
			msgs[c.name] = msg
		})
	}
	seen := map[string]string{}
	for name, m := range msgs {
		if other, dup := seen[m]; dup && !strings.Contains(name+other, "declared") {
			t.Errorf("%s and %s share a message: %s", name, other, m)
		}
		seen[m] = name
	}
}

func TestHFRefreshGivesFreshSignedURLAtCommit(t *testing.T) {
	h := newFakeHub(t)
	r, _ := newTestResolver(Config{HFEndpoint: h.srv.URL, HFToken: hfGood})
	ts, err := r.Resolve(context.Background(), hfEntry("org/public", "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	u, hdr, err := ts[0].Refresh(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if u == ts[0].URL || !strings.HasPrefix(u, h.cdn.srv.URL) || hdr.Get("Authorization") != "" {
		t.Fatalf("refresh gave %s %v", u, hdr)
	}
	reqs := h.all()
	if last := reqs[len(reqs)-1].path; !strings.Contains(last, "/resolve/"+commitMain+"/") {
		t.Fatalf("refresh asked %s, want the resolved commit", last)
	}
}

// TestHF429 is CASES.md C15 on the resolver side: every other hub request
// answers 429 Retry-After: 1, and each is waited out exactly as asked.
func TestHF429RetryAfterHonoured(t *testing.T) {
	h := newFakeHub(t)
	h.pageSize = 50
	h.setLimit(func(n int) bool { return n%2 == 1 })
	r, fs := newTestResolver(Config{HFEndpoint: h.srv.URL, HFToken: hfGood})
	e := hfEntry("org/many", "")
	e.DownloadAll = true
	ts, err := r.Resolve(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 300 {
		t.Fatalf("%d targets", len(ts))
	}
	waits := fs.all()
	if len(waits) == 0 || len(waits) != (len(h.all())+1)/2 {
		t.Fatalf("%d waits for %d requests", len(waits), len(h.all()))
	}
	for _, w := range waits {
		if w != time.Second {
			t.Fatalf("waited %v, want the Retry-After of 1s", w)
		}
	}

	h.setLimit(func(int) bool { return true })
	_, err = r.Resolve(context.Background(), hfEntry("org/public", "model.safetensors"))
	if !errors.Is(err, ErrRateLimited) || !strings.Contains(err.Error(), "429") {
		t.Fatalf("got %v", err)
	}
	noSecrets(t, err)
}

func TestCheckHFToken(t *testing.T) {
	h := newFakeHub(t)
	ctx := context.Background()
	if err := New(Config{HFEndpoint: h.srv.URL, HFToken: hfGood}).CheckHFToken(ctx); err != nil {
		t.Fatal(err)
	}
	err := New(Config{HFEndpoint: h.srv.URL, HFToken: " " + hfBad + "\n"}).CheckHFToken(ctx)
	if !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("got %v", err)
	}
	noSecrets(t, err)
	if err := New(Config{HFEndpoint: h.srv.URL}).CheckHFToken(ctx); !errors.Is(err,
		ErrAuthRequired) {
		t.Fatalf("got %v", err)
	}
	for _, s := range h.all() {
		if s.path != "/api/whoami-v2" {
			t.Fatalf("asked %s", s.path)
		}
	}
}
