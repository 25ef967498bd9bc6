package resolver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"provision/bench/sim"
)

func TestDownloadAllPaginatesAndFilters(t *testing.T) {
	h := newFakeHub(t)
	h.pageSize = 7
	r, _ := newTestResolver(Config{HFEndpoint: h.srv.URL, HFToken: hfGood})
	e := hfEntry("org/many", "")
	e.Name, e.DownloadAll = "pack", true
	e.Include = []string{"emb/e1*", "e2[0-4]?.safetensors"}
	e.Exclude = []string{"**/e11?.safetensors"}
	ts, err := r.Resolve(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	// e100-e199 minus e110-e119, plus e200-e249.
	if len(ts) != 90+50 {
		t.Fatalf("%d targets", len(ts))
	}
	byRel := map[string]*Target{}
	for _, tg := range ts {
		byRel[tg.Rel] = tg
	}
	for i := 0; i < 300; i++ {
		p := fmt.Sprintf("emb/e%03d.safetensors", i)
		tg, ok := byRel["pack/"+p]
		want := i >= 100 && i < 250 && !(i >= 110 && i < 120)
		if ok != want {
			t.Fatalf("%s selected %v, want %v", p, ok, want)
		}
		if !ok {
			continue
		}
		b := body(p, int64(100+i))
		if tg.Size != int64(len(b)) {
			t.Fatalf("%s size %d, want %d", p, tg.Size, len(b))
		}
		if i%2 == 0 && tg.SHA256 != sum(b) || i%2 == 1 && tg.SHA256 != "" {
			t.Fatalf("%s sha256 %q", p, tg.SHA256)
		}
		if tg.Entry != e {
			t.Fatal("target lost its entry")
		}
	}

	// The pages were all read, with the token, and small files point at the
	// hub pinned to the commit, token scoped to the hub.
	pages := 0
	for _, s := range h.all() {
		if strings.Contains(s.path, "/tree/") {
			pages++
			if s.auth != "Bearer "+hfGood {
				t.Fatal("tree page asked without the token")
			}
		}
	}
	if pages != (301+6)/7 {
		t.Fatalf("%d tree pages read", pages)
	}
	tg := byRel["pack/emb/e120.safetensors"]
	if tg.URL != h.srv.URL+"/org/many/resolve/"+commitMain+"/emb/e120.safetensors" ||
		tg.Header.Get("Authorization") != "Bearer "+hfGood {
		t.Fatalf("lazy target %s %v", tg.URL, tg.Header)
	}
	if got := fetchFollowing(t, tg); sum(got) != sum(body("emb/e120.safetensors", 220)) {
		t.Fatal("lazy target bytes differ")
	}
	for _, s := range h.cdn.all() {
		if s.auth != "" {
			t.Fatal("the CDN received the token")
		}
	}
}

// fetchFollowing downloads a target following redirects and dropping the
// target's headers off its host, as the engine does.
func fetchFollowing(t *testing.T, tg *Target) []byte {
	t.Helper()
	r := New(Config{})
	resp, err := r.follow.Do(func() *http.Request {
		req, _ := http.NewRequest(http.MethodGet, tg.URL, nil)
		req.Header = tg.Header.Clone()
		return req
	}())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("fetch %s: %d", tg.Rel, resp.StatusCode)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDownloadAllResolvesLargeFilesUpFront(t *testing.T) {
	h := newFakeHub(t)
	big := &fakeRepo{files: map[string]fakeFile{"README.md": {body: []byte("# big")}}}
	for _, p := range []string{"a.safetensors", "b.safetensors", "c.safetensors"} {
		b := make([]byte, eagerSize+len(p))
		big.files[p] = fakeFile{body: b, lfs: true, digest: sum(b)}
	}
	h.repos["org/big"] = big
	r, _ := newTestResolver(Config{HFEndpoint: h.srv.URL})
	e := hfEntry("org/big", "")
	e.Name, e.DownloadAll = "big", true
	ts, err := r.Resolve(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 4 {
		t.Fatalf("%d targets", len(ts))
	}
	for _, tg := range ts {
		large := strings.HasSuffix(tg.Rel, ".safetensors")
		onCDN := strings.HasPrefix(tg.URL, h.cdn.srv.URL)
		if large != onCDN {
			t.Errorf("%s: URL %s", tg.Rel, tg.URL)
		}
		if large {
			if u, _, err := tg.Refresh(context.Background()); err != nil || u == tg.URL {
				t.Errorf("%s: refresh %v", tg.Rel, err)
			}
		}
	}
}

func TestDownloadAllErrors(t *testing.T) {
	h := newFakeHub(t)
	ctx := context.Background()
	r, _ := newTestResolver(Config{HFEndpoint: h.srv.URL})

	e := hfEntry("org/many", "")
	e.DownloadAll, e.Include = true, []string{"*.ckpt"}
	if _, err := r.Resolve(ctx, e); !errors.Is(err, ErrNoMatch) ||
		!strings.Contains(err.Error(), "none of the 300 files") {
		t.Fatalf("got %v", err)
	}

	e.Include = []string{"[a-"}
	if _, err := r.Resolve(ctx, e); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("got %v", err)
	}

	// A gated repo whose listing is readable still fails with the gate's
	// message before any target exists: the first file is asked for.
	g := hfEntry("org/gated", "")
	g.DownloadAll = true
	if _, err := r.Resolve(ctx, g); !errors.Is(err, ErrAuthRequired) ||
		!strings.Contains(err.Error(), "set HF_TOKEN") {
		t.Fatalf("got %v", err)
	}
	p := hfEntry("org/private", "")
	p.DownloadAll = true
	if _, err := r.Resolve(ctx, p); !errors.Is(err, ErrPrivateOrMissing) {
		t.Fatalf("got %v", err)
	}
}

func TestGlobMatch(t *testing.T) {
	cases := []struct {
		pattern, path string
		want          bool
	}{
		{"*.safetensors", "a.safetensors", true},
		{"*.safetensors", "dir/sub/a.safetensors", true},
		{"*.safetensors", "a.bin", false},
		{"unet/*", "unet/x.bin", true},
		{"unet/*", "unet/deep/x.bin", false},
		{"unet/", "unet/deep/x.bin", true},
		{"unet/**", "unet/x.bin", true},
		{"**/x.bin", "x.bin", true},
		{"**/x.bin", "a/b/x.bin", true},
		{"a/**/z/*.pt", "a/b/c/z/m.pt", true},
		{"a/**/z/*.pt", "a/z/m.pt", true},
		{"a/**/z/*.pt", "a/z/m.bin", false},
		{"README.md", "sub/README.md", true},
		{"sub/README.md", "README.md", false},
	}
	for _, c := range cases {
		if got := globMatch(c.pattern, c.path); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v", c.pattern, c.path, got)
		}
	}
	if !selected("x.bin", nil, nil) || selected("x.bin", []string{"*.pt"}, nil) ||
		selected("x.pt", []string{"*.pt"}, []string{"x.*"}) {
		t.Error("selected")
	}
}

func TestNextLink(t *testing.T) {
	cases := map[string]string{
		`<https://h/api/x?cursor=2>; rel="next"`:                 "https://h/api/x?cursor=2",
		`<https://h/p1>; rel="prev", <https://h/p3>; rel="next"`: "https://h/p3",
		`<https://h/p3>; rel=next`:                               "https://h/p3",
		`<https://h/p3>; rel="last"`:                             "",
		``:                                                       "",
		`garbage`:                                                "",
		`<https://h/p3>; title="a"; rel="next prefetch"`: "https://h/p3",
	}
	for in, want := range cases {
		if got := nextLink([]string{in}); got != want {
			t.Errorf("nextLink(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestHFAgainstSimulator runs the HuggingFace resolver end to end against
// the bench simulator: C4's three messages, revisions, datasets, small
// files and download_all with include/exclude, every byte checked.
func TestHFAgainstSimulator(t *testing.T) {
	s := startSim(t)
	ctx := context.Background()
	access := []struct {
		token, repo, file string
		kind              error
	}{
		{"", "black-forest-labs/FLUX.1-dev", "ae.safetensors", ErrAuthRequired},
		{sim.UnapprovedHFToken, "black-forest-labs/FLUX.1-dev", "ae.safetensors",
			ErrNotApproved},
		{"", "acme/private-model", "model.safetensors", ErrPrivateOrMissing},
		{sim.UnapprovedHFToken, "acme/private-model", "model.safetensors", ErrRepoNotFound},
		{"hf_not_a_token", "acme/private-model", "model.safetensors", ErrInvalidToken},
	}
	msgs := map[string]bool{}
	for _, c := range access {
		r, _ := newTestResolver(Config{HFEndpoint: s.HubURL, HFToken: c.token})
		_, err := r.Resolve(ctx, hfEntry(c.repo, c.file))
		if !errors.Is(err, c.kind) {
			t.Fatalf("%s with %q: got %v, want %v", c.repo, c.token, err, c.kind)
		}
		for _, secret := range []string{sim.UnapprovedHFToken, "hf_not_a_token"} {
			if strings.Contains(err.Error(), secret) {
				t.Fatal("token in message")
			}
		}
		if msgs[err.Error()] {
			t.Fatalf("message repeated: %v", err)
		}
		msgs[err.Error()] = true
	}

	r, _ := newTestResolver(Config{HFEndpoint: s.HubURL, HFToken: sim.DemoHFToken})
	if err := r.CheckHFToken(ctx); err != nil {
		t.Fatal(err)
	}
	check := func(tg *Target, f *sim.RepoFile) {
		t.Helper()
		if tg.Size != f.Size || (f.LFS() && tg.SHA256 != f.SHA256()) {
			t.Fatalf("%s: size %d sha %q, want %d %s", tg.Rel, tg.Size, tg.SHA256, f.Size,
				f.SHA256())
		}
		if got := fetchFollowing(t, tg); sum(got) != f.SHA256() {
			t.Fatalf("%s: bytes differ", tg.Rel)
		}
	}
	singles := []struct {
		repo, typ, rev, file string
	}{
		{"black-forest-labs/FLUX.1-dev", "", "", "ae.safetensors"},
		{"acme/private-model", "", "", "model.safetensors"},
		{"stabilityai/stable-diffusion-xl-base-1.0", "", "refs/pr/1", "model_index.json"},
		{"stabilityai/stable-diffusion-xl-base-1.0", "", "v1.0", "sd_xl_base_1.0.safetensors"},
		{"gsdf/EasyNegative", "dataset", "", "EasyNegative.safetensors"},
	}
	for _, c := range singles {
		e := hfEntry(c.repo, c.file)
		e.RepoType, e.Revision = c.typ, c.rev
		ts, err := r.Resolve(ctx, e)
		if err != nil {
			t.Fatalf("%s/%s: %v", c.repo, c.file, err)
		}
		check(ts[0], s.Catalog.Repo(c.repo).File(c.file))
	}

	e := hfEntry("username/embeddings-collection", "")
	e.Name, e.DownloadAll = "pack", true
	e.Include, e.Exclude = []string{"*.safetensors", "*.pt"}, []string{"styles/"}
	ts, err := r.Resolve(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	var rels []string
	for _, tg := range ts {
		rels = append(rels, tg.Rel)
		check(tg, s.Catalog.Repo(e.Repo).File(strings.TrimPrefix(tg.Rel, "pack/")))
	}
	for _, kind := range []string{"cdn", "storage"} {
		if seen := s.Stats().Seen(kind, "Authorization"); len(seen) > 0 {
			t.Fatalf("the token reached the %s: %v", kind, seen[0].Path)
		}
	}
	want := "[pack/negative/EasyNegativeV2.safetensors pack/negative/bad_hands_5.pt " +
		"pack/positive/detail_boost.safetensors]"
	if fmt.Sprint(rels) != want {
		t.Fatalf("got %v, want %s", rels, want)
	}
}

func FuzzNextLink(f *testing.F) {
	f.Add(`<https://h/p1>; rel="prev", <https://h/p3>; rel="next"`)
	f.Add(`<>; rel=next`)
	f.Fuzz(func(t *testing.T, v string) {
		if got := nextLink([]string{v}); strings.ContainsAny(got, "<>") {
			t.Fatalf("nextLink(%q) = %q", v, got)
		}
	})
}

// TestDownloadAllUnderRequestLimit is CASES.md C15's resolver side with a
// real clock: the simulator answers 429 Retry-After: 1 above 3 requests a
// second, and a paginated download_all still resolves every file.
func TestDownloadAllUnderRequestLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out real Retry-After seconds")
	}
	s, err := sim.Start(sim.Config{RequestRate: 3, TreePageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := New(Config{HFEndpoint: s.HubURL})
	e := hfEntry("username/embeddings-collection", "")
	e.DownloadAll = true
	ts, err := r.Resolve(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 6 {
		t.Fatalf("%d targets", len(ts))
	}
	limited := 0
	for _, q := range s.Stats().Log {
		if q.Status == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("the simulator never answered 429: the test tests nothing")
	}
}
