package resolver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"provision/bench/sim"
)

// fakeCiv is a CivitAI whose version 7 lists one file (id 70, sizeKB
// derived from listed) and whose download endpoint answers with download.
type fakeCiv struct {
	srv    *httptest.Server
	store  *httptest.Server // signed storage, another server as on CivitAI
	listed int64            // the size the API's sizeKB stands for
	data   []byte
	// download answers /api/download/models/7; nil means a 307 to /storage.
	download func(w http.ResponseWriter, r *http.Request)
	auth     []string // Authorization headers the download endpoint saw
}

func newFakeCiv(t *testing.T, data []byte, listed int64) *fakeCiv {
	t.Helper()
	f := &fakeCiv{data: data, listed: listed}
	f.store = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		http.ServeContent(w, r, "", time.Time{}, strings.NewReader(string(f.data)))
	}))
	t.Cleanup(f.store.Close)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/model-versions/7":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"id":7,"modelId":3,"name":"v1","files":[{"id":70,`+
				`"name":"edge.safetensors","type":"Model","primary":true,"sizeKB":%g,`+
				`"hashes":{"SHA256":"%s"}}]}`, float64(f.listed)/1024,
				strings.ToUpper(sum(f.data)))
		case "/api/download/models/7":
			f.auth = append(f.auth, r.Header.Get("Authorization"))
			if f.download != nil {
				f.download(w, r)
				return
			}
			http.Redirect(w, r, f.store.URL+"/edge.safetensors?sig=x",
				http.StatusTemporaryRedirect)
		default:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":"Model not found"}`))
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// TestCivitAIDirectFileAnswer: a download endpoint that answers 200 with
// the file itself (Content-Disposition, a model content type) is the file,
// fetched from the endpoint with the token; the same 200 as HTML or JSON
// is never a file, whatever its Content-Disposition says.
func TestCivitAIDirectFileAnswer(t *testing.T) {
	data := body("edge", 70_000)
	f := newFakeCiv(t, data, int64(len(data)))
	direct := func(ct string) func(w http.ResponseWriter, r *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ct)
			w.Header().Set("Content-Disposition", `attachment; filename="edge.safetensors"`)
			http.ServeContent(w, r, "", time.Time{}, strings.NewReader(string(data)))
		}
	}
	ctx := context.Background()
	r, _ := newTestResolver(Config{CivitAIEndpoint: f.srv.URL, CivitAIToken: civGood})

	f.download = direct("application/octet-stream")
	ts, err := r.Resolve(ctx, civEntry("7"))
	if err != nil {
		t.Fatal(err)
	}
	tg := ts[0]
	if tg.Size != int64(len(data)) || tg.SHA256 != sum(data) || tg.Rel != "edge.safetensors" ||
		!strings.HasPrefix(tg.URL, f.srv.URL+"/api/download/models/7?") ||
		tg.Header.Get("Authorization") != "Bearer "+civGood {
		t.Fatalf("target %+v", tg)
	}
	if got := fetch(t, tg); sum(got) != sum(data) {
		t.Fatal("bytes differ")
	}

	for ct, doc := range map[string]string{"text/html; charset=utf-8": "a text/html",
		"application/json": "an application/json"} {
		f.download = direct(ct)
		_, err := r.Resolve(ctx, civEntry("7"))
		if !errors.Is(err, ErrNotAFile) || !strings.Contains(err.Error(),
			"CivitAI answered the download of version 7 with "+doc+
				" document instead of the file (a token was sent)") {
			t.Fatalf("%s: got %v", ct, err)
		}
		noSecrets(t, err)
	}
	f.download = func(w http.ResponseWriter, r *http.Request) { // no Content-Disposition
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(data)
	}
	if _, err := r.Resolve(ctx, civEntry("7")); !errors.Is(err, ErrNotAFile) {
		t.Fatalf("an unnamed 200: got %v", err)
	}
}

// TestCivitAISizeDisagreesWithAPI is the sizeKB plausibility check (C9: a
// size that disagrees with the metadata is an error): storage serving
// half of what the API lists is refused; a size within rounding passes.
func TestCivitAISizeDisagreesWithAPI(t *testing.T) {
	data := body("edge", 200_000)
	ctx := context.Background()

	f := newFakeCiv(t, data, 400_000)
	r, _ := newTestResolver(Config{CivitAIEndpoint: f.srv.URL})
	_, err := r.Resolve(ctx, civEntry("7"))
	want := "models.lora.wall: CivitAI's storage serves 200000 bytes for edge.safetensors " +
		"but the API says about 391 KB; try again later; if it persists, set file_id"
	if !errors.Is(err, ErrNotAFile) || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}

	f = newFakeCiv(t, data, 200_000+1000) // sizeKB rounding, well within 2 %
	r, _ = newTestResolver(Config{CivitAIEndpoint: f.srv.URL})
	ts, err := r.Resolve(ctx, civEntry("7"))
	if err != nil || ts[0].Size != 200_000 {
		t.Fatalf("near size: %v", err)
	}
}

// TestCivitAIDownloadEndpointErrors: answers of the download endpoint
// after the version's metadata was found.
func TestCivitAIDownloadEndpointErrors(t *testing.T) {
	f := newFakeCiv(t, body("edge", 1000), 1000)
	r, _ := newTestResolver(Config{CivitAIEndpoint: f.srv.URL, Retries: -1})
	ctx := context.Background()
	answer := func(status int, text string) func(w http.ResponseWriter, r *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(text))
		}
	}
	cases := []struct {
		status int
		body   string
		kind   error
		want   string
	}{
		{404, `{"error":"File not found"}`, ErrFileNotFound,
			"models.lora.wall: CivitAI has no file 70 in version 7; check file_id against " +
				"the files listed on " + f.srv.URL + "/models/3?modelVersionId=7"},
		{429, `{"error":"Too many requests"}`, ErrRateLimited,
			"models.lora.wall: CivitAI kept answering 429 Too Many Requests for version 7; " +
				"wait a few minutes and run again"},
		{500, `oops`, ErrUnavailable,
			"models.lora.wall: CivitAI answered 500 for version 7; try again later"},
	}
	for _, c := range cases {
		f.download = answer(c.status, c.body)
		_, err := r.Resolve(ctx, civEntry("7"))
		if !errors.Is(err, c.kind) || err.Error() != c.want {
			t.Errorf("%d: got  %v\nwant %s", c.status, err, c.want)
		}
	}
}

// TestCivitAIInvalidTokenIsOnlySeenAtTheLoginWall: CivitAI treats an
// invalid key as no key, so nothing can check it up front; an entry that
// needs a login says a token was sent, names CIVITAI_TOKEN and never
// prints it, and a public entry goes ahead with the same bad token.
func TestCivitAIInvalidTokenIsOnlySeenAtTheLoginWall(t *testing.T) {
	s := startSim(t)
	r, _ := newTestResolver(Config{CivitAIEndpoint: s.CivitAIURL,
		CivitAIToken: "  " + civBad + "\n"})
	ctx := context.Background()
	_, err := r.Resolve(ctx, civEntry("42"))
	want := "models.lora.wall: CivitAI refused to download version 42 although a token was " +
		"sent: the token is invalid or the creator disabled downloads (CivitAI says: The " +
		"creator of this asset requires you to be logged in to download it); check " +
		"CIVITAI_TOKEN at " + s.CivitAIURL + "/user/account and the version's page " +
		s.CivitAIURL + "/models/"
	if !errors.Is(err, ErrNotApproved) || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("got  %v\nwant %s...", err, want)
	}
	noSecrets(t, err)
	ts, err := r.Resolve(ctx, civEntry("135867"))
	if err != nil || ts[0].SHA256 != civFileOf(t, s, 135867, 1358).SHA256() {
		t.Fatalf("public version with a bad token: %v", err)
	}
}

// TestHFSpaceRepo: repo_type = "space" resolves through /spaces/ like a
// dataset through /datasets/.
func TestHFSpaceRepo(t *testing.T) {
	cat := sim.DefaultCatalog()
	cat.Repos = append(cat.Repos, &sim.Repo{ID: "someone/upscaler-app", Type: "space",
		Files: []*sim.RepoFile{{Path: "weights/net.pth", Size: 300_000},
			{Path: "app.py", Body: []byte("print('hi')\n")}}})
	s, err := sim.Start(sim.Config{Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	r, _ := newTestResolver(Config{HFEndpoint: s.HubURL})
	e := hfEntry("someone/upscaler-app", "weights/net.pth")
	e.RepoType = "space"
	ts, err := r.Resolve(context.Background(), e)
	want := s.Catalog.Repo("someone/upscaler-app").File("weights/net.pth")
	if err != nil || ts[0].Rel != "net.pth" || ts[0].SHA256 != want.SHA256() {
		t.Fatalf("space file: %v %+v", err, ts)
	}
	if got := fetch(t, ts[0]); sum(got) != want.SHA256() {
		t.Fatal("bytes differ")
	}
	all := &Entry{Key: "models.upscale_models.app", Category: "upscale_models", Name: "app",
		Source: HuggingFace, Repo: "someone/upscaler-app", RepoType: "space",
		DownloadAll: true, Include: []string{"*.pth", "weights/*"}}
	ts, err = r.Resolve(context.Background(), all)
	if err != nil || len(ts) != 1 || ts[0].Rel != "app/weights/net.pth" {
		t.Fatalf("space download_all: %v %+v", err, ts)
	}
	if got := fetchFollowing(t, ts[0]); sum(got) != want.SHA256() {
		t.Fatal("download_all bytes differ")
	}
	e.RepoType = "model" // the same path as a model repo does not exist
	if _, err := r.Resolve(context.Background(), e); !errors.Is(err, ErrPrivateOrMissing) {
		t.Fatalf("as a model: %v", err)
	}
}
