package resolver

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"provision/bench/sim"
	"provision/internal/netx"
)

// startSim runs the bench simulator with its default catalog for one test.
func startSim(t *testing.T) *sim.Sim {
	t.Helper()
	s, err := sim.Start(sim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func civEntry(vid string) *Entry {
	return &Entry{Key: "models.lora.wall", Category: "lora", Name: "wall", Source: CivitAI,
		VersionID: vid}
}

// civFileOf is the simulator's file with that id in that version.
func civFileOf(t *testing.T, s *sim.Sim, vid, fid int) *sim.CivitFile {
	t.Helper()
	f := s.Catalog.Version(vid).File(fid)
	if f == nil {
		t.Fatalf("sim has no file %d in version %d", fid, vid)
	}
	return f
}

// TestCivitAILoginWall is CASES.md C1: without a token the entry fails
// naming itself, the version and CIVITAI_TOKEN (also when a browser-like
// agent is sent to the login page); with the token a signed storage URL
// comes back that carries no token and serves the exact bytes.
func TestCivitAILoginWall(t *testing.T) {
	s := startSim(t)
	ctx := context.Background()
	for _, ua := range []string{"", "Mozilla/5.0 (X11; Linux x86_64)"} {
		r, _ := newTestResolver(Config{CivitAIEndpoint: s.CivitAIURL, UserAgent: ua})
		_, err := r.Resolve(ctx, civEntry("42"))
		if !errors.Is(err, ErrAuthRequired) {
			t.Fatalf("agent %q: got %v", ua, err)
		}
		for _, w := range []string{"models.lora.wall: ", "version 42", "CIVITAI_TOKEN",
			"no token was sent"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("message %q lacks %q", err, w)
			}
		}
	}

	r, _ := newTestResolver(Config{CivitAIEndpoint: s.CivitAIURL,
		CivitAIToken: sim.DemoCivitAIToken + "\n"})
	ts, err := r.Resolve(ctx, civEntry("42"))
	if err != nil {
		t.Fatal(err)
	}
	tg, f := ts[0], civFileOf(t, s, 42, 42)
	if !strings.HasPrefix(tg.URL, s.CDNURL+"/storage/") || tg.Header != nil ||
		strings.Contains(tg.URL, "token") || strings.Contains(tg.URL, sim.DemoCivitAIToken) {
		t.Fatalf("URL %s (redacted), header set: %v", netx.Redact(tg.URL), tg.Header != nil)
	}
	if tg.Rel != "loginwall_lora.safetensors" || tg.Size != f.Size || tg.SHA256 != f.SHA256() {
		t.Fatalf("target %+v, want %d bytes %s", tg, f.Size, f.SHA256())
	}
	if strings.Contains(tg.Origin, "?") && !strings.HasSuffix(tg.Origin, "?fileId=42") {
		t.Fatalf("origin %s", tg.Origin)
	}
	if got := fetch(t, tg); sum(got) != f.SHA256() {
		t.Fatal("bytes differ from the API's SHA256")
	}
	u, h, err := tg.Refresh(ctx)
	if err != nil || !strings.HasPrefix(u, s.CDNURL+"/storage/") || h != nil {
		t.Fatalf("refresh: %s %v %v", u, h, err)
	}

	if seen := s.Stats().Seen("storage", "Authorization"); len(seen) > 0 {
		t.Fatal("the token reached signed storage")
	}
	if len(s.Stats().Seen("civitai.download", "Authorization")) == 0 {
		t.Fatal("the token never reached the download endpoint")
	}

	bad, _ := newTestResolver(Config{CivitAIEndpoint: s.CivitAIURL, CivitAIToken: civBad})
	_, err = bad.Resolve(ctx, civEntry("42"))
	if !errors.Is(err, ErrNotApproved) || !strings.Contains(err.Error(), "a token was sent") {
		t.Fatalf("bad token: %v", err)
	}
	noSecrets(t, err)
}

// TestCivitAIFileSelection is CASES.md C10.
func TestCivitAIFileSelection(t *testing.T) {
	s := startSim(t)
	r, _ := newTestResolver(Config{CivitAIEndpoint: s.CivitAIURL})
	ctx := context.Background()
	cases := []struct {
		name                    string
		fileID, typ, format, fp string
		wantFile                int
		kind                    error
		want                    []string
	}{
		{name: "primary by default", wantFile: 1},
		{name: "fp8 by file_id", fileID: "2", wantFile: 2},
		{name: "fp8 by fp", fp: "fp8", wantFile: 2},
		{name: "loose words", typ: "model", format: "safetensors", fp: "FP16", wantFile: 1},
		{name: "vae by type", typ: "VAE", wantFile: 3},
		{name: "ambiguous fp", fp: "fp16", kind: ErrAmbiguous, want: []string{
			"2 files of CivitAI version 202 match fp=\"fp16\"",
			"1 (multiFormat_v20_fp16.safetensors, Model, SafeTensor, fp16, pruned",
			"3 (multiFormat_v20_vae.safetensors, VAE", "add file_id"}},
		{name: "no match", typ: "Pruned Model", kind: ErrNoMatch, want: []string{
			"no file of CivitAI version 202 matches type=\"Pruned Model\"",
			"1 (multiFormat_v20_fp16", "2 (multiFormat_v20_fp8", "3 (multiFormat_v20_vae"}},
		{name: "unknown file id", fileID: "99", kind: ErrNoMatch,
			want: []string{"file_id=\"99\""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := civEntry("202")
			e.FileID, e.Type, e.Format, e.FP = c.fileID, c.typ, c.format, c.fp
			ts, err := r.Resolve(ctx, e)
			if c.kind != nil {
				if !errors.Is(err, c.kind) {
					t.Fatalf("got %v, want %v", err, c.kind)
				}
				for _, w := range c.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("message %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			f := civFileOf(t, s, 202, c.wantFile)
			if ts[0].Rel != f.Name || ts[0].SHA256 != f.SHA256() || ts[0].Size != f.Size {
				t.Fatalf("got %+v, want %s", ts[0], f.Name)
			}
			if got := fetch(t, ts[0]); sum(got) != f.SHA256() {
				t.Fatal("bytes differ from the API's SHA256")
			}
		})
	}
}

func TestCivitAIVersionStates(t *testing.T) {
	s := startSim(t)
	r, _ := newTestResolver(Config{CivitAIEndpoint: s.CivitAIURL,
		CivitAIToken: sim.DemoCivitAIToken})
	cases := []struct {
		vid  string
		kind error
		want []string
	}{
		{"100", ErrModelNotVersion, []string{"CivitAI id 100 is a model", "not a model version",
			"203 (v3.0), 202 (v2.0), 201 (v1.0)"}},
		{"999999", ErrVersionNotFound, []string{"no model version 999999",
			"modelVersionId="}},
		{"43", ErrEarlyAccess, []string{"version 43 is in early access until " +
			sim.EarlyAccessDeadline.Format("2006-01-02T15:04:05Z07:00")}},
		{"44", ErrArchived, []string{"version 44 was archived"}},
		{"45", ErrNotApproved, []string{"disabled downloads of version 45"}},
	}
	for _, c := range cases {
		_, err := r.Resolve(context.Background(), civEntry(c.vid))
		if !errors.Is(err, c.kind) {
			t.Fatalf("version %s: got %v, want %v", c.vid, err, c.kind)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("message %q lacks %q", err, w)
			}
		}
		noSecrets(t, err)
		if strings.Contains(err.Error(), sim.DemoCivitAIToken) {
			t.Fatal("token in message")
		}
	}
	if !errors.Is(ErrModelNotVersion, ErrVersionNotFound) {
		t.Fatal("a model id is a kind of missing version")
	}
}

// TestCivitAINames is CASES.md C7 (i) and the CivitAI side of (ii), (iv):
// the name comes from the API metadata, never from the link's query text.
func TestCivitAINames(t *testing.T) {
	s := startSim(t)
	r, _ := newTestResolver(Config{CivitAIEndpoint: s.CivitAIURL})
	ctx := context.Background()
	cases := []struct {
		e    *Entry
		want string
	}{
		{civEntry("181248"), "quiet_storage.safetensors"},
		{&Entry{Key: "models.lora.q", Source: URL,
			URL: s.CivitAIURL + "/api/download/models/181248?type=Model&format=SafeTensor"},
			"quiet_storage.safetensors"},
		{&Entry{Key: "models.lora.q", Source: URL,
			URL: s.CivitAIURL + "/models/100?modelVersionId=202"},
			"multiFormat_v20_fp16.safetensors"},
		{&Entry{Key: "models.lora.q", Source: URL,
			URL: s.CivitAIURL + "/api/download/models/202?fileId=2"},
			"multiFormat_v20_fp8.safetensors"},
		{civEntry("46"), "青禅_Zen.safetensors"},
		{civEntry("47"), "a.tar.gz"},
		{&Entry{Key: "models.lora.q", Source: CivitAI, VersionID: "46",
			Filename: "../zen.safetensors"}, "zen.safetensors"},
	}
	for _, c := range cases {
		ts, err := r.Resolve(ctx, c.e)
		if err != nil {
			t.Fatalf("%s%s: %v", c.e.VersionID, c.e.URL, err)
		}
		if ts[0].Rel != c.want || ts[0].Entry != c.e {
			t.Errorf("%s%s: name %q, want %q", c.e.VersionID, c.e.URL, ts[0].Rel, c.want)
		}
	}
}

// TestCivitAINeverSavesAPage: an HTML or JSON answer where the download's
// redirect was expected is an error, and 429 is waited out.
func TestCivitAINeverSavesAPage(t *testing.T) {
	s := startSim(t)
	var hits int
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/download/") {
			hits++
			if hits == 1 {
				w.Header().Set("Retry-After", "2")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html>Sign in</html>"))
			return
		}
		resp, err := http.Get(s.CivitAIURL + r.URL.RequestURI())
		if err != nil {
			t.Error(err)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(readSmall(resp))
	}))
	defer proxy.Close()
	r, fs := newTestResolver(Config{CivitAIEndpoint: proxy.URL})
	_, err := r.Resolve(context.Background(), civEntry("135867"))
	if !errors.Is(err, ErrNotAFile) || !strings.Contains(err.Error(), "text/html") {
		t.Fatalf("got %v", err)
	}
	if w := fs.all(); len(w) != 1 || w[0].Seconds() != 2 {
		t.Fatalf("waits %v", w)
	}
}
