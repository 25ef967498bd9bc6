package sim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

func TestResolveLFS(t *testing.T) {
	s := start(t, Config{})
	repo := s.Catalog.Repo("stabilityai/stable-diffusion-xl-base-1.0")
	f := repo.File("sd_xl_base_1.0.safetensors")
	u := s.HubURL + "/" + repo.ID + "/resolve/main/" + f.Path
	for _, method := range []string{http.MethodHead, http.MethodGet} {
		t.Run(method, func(t *testing.T) {
			resp, _, err := call(t, noFollow, method, u, nil)
			if err != nil {
				t.Fatal(err)
			}
			h := resp.Header
			want := map[string]string{
				"X-Linked-Size": strconv.FormatInt(f.Size, 10),
				"X-Linked-Etag": `"` + f.SHA256() + `"`,
				"ETag":          `"` + f.SHA256() + `"`,
				"X-Repo-Commit": repo.Commit,
				"Accept-Ranges": "bytes",
				"Content-Disposition": `inline; filename*=UTF-8''sd_xl_base_1.0.safetensors; ` +
					`filename="sd_xl_base_1.0.safetensors";`,
			}
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("status %d, want 302", resp.StatusCode)
			}
			for k, v := range want {
				if got := h.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			loc, err := url.Parse(h.Get("Location"))
			if err != nil || !loc.IsAbs() {
				t.Fatalf("Location %q is not absolute", redactQ(h.Get("Location")))
			}
			hub, _ := url.Parse(s.HubURL)
			if loc.Hostname() == hub.Hostname() {
				t.Errorf("CDN host %s is the hub's host name", loc.Hostname())
			}
		})
	}

	// The signed URL serves the file; its ETag is not the sha256.
	resp, _, _ := call(t, noFollow, http.MethodHead, u, nil)
	cdnResp, body := get(t, noFollow, resp.Header.Get("Location"), nil)
	if cdnResp.StatusCode != http.StatusOK || sum(body) != f.SHA256() {
		t.Fatalf("CDN: status %d, sha256 %s, want 200 %s", cdnResp.StatusCode, sum(body), f.SHA256())
	}
	if strings.Contains(cdnResp.Header.Get("ETag"), f.SHA256()) ||
		cdnResp.Header.Get("X-Linked-Size") != "" {
		t.Error("CDN answer carries hub headers")
	}
}

func TestResolveSmallFile(t *testing.T) {
	s := start(t, Config{})
	repo := s.Catalog.Repo("username/embeddings-collection")
	f := repo.File("config.json")
	resp, _ := get(t, noFollow, s.HubURL+"/"+repo.ID+"/resolve/main/config.json", nil)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusTemporaryRedirect ||
		!strings.HasPrefix(loc, "/api/resolve-cache/models/"+repo.ID+"/"+repo.Commit+"/") {
		t.Fatalf("got %d Location %q, want 307 to /api/resolve-cache/...", resp.StatusCode, loc)
	}
	if etag := resp.Header.Get("X-Linked-Etag"); len(etag) != 42 {
		t.Errorf("X-Linked-Etag %q is not a quoted sha1", etag)
	}
	resp, body := get(t, http.DefaultClient, s.HubURL+"/"+repo.ID+"/resolve/main/config.json",
		nil)
	if resp.StatusCode != http.StatusOK || string(body) != string(f.Body) {
		t.Fatalf("followed: %d %q, want 200 %q", resp.StatusCode, body, f.Body)
	}
}

func TestHubErrors(t *testing.T) {
	s := start(t, Config{})
	flux := "/black-forest-labs/FLUX.1-dev/resolve/main/ae.safetensors"
	private := "/acme/private-model/resolve/main/model.safetensors"
	missing := "/nobody/nothing/resolve/main/x.safetensors"
	sdxl := "/stabilityai/stable-diffusion-xl-base-1.0/resolve/"
	tests := []struct {
		name, path, token string
		status            int
		code              string // X-Error-Code
		www               bool   // WWW-Authenticate expected
	}{
		{"gated no token", flux, "", 401, "GatedRepo", false},
		{"gated unapproved", flux, UnapprovedHFToken, 403, "GatedRepo", false},
		{"gated approved", flux, DemoHFToken, 302, "", false},
		{"private no token", private, "", 401, "", true},
		{"private unapproved", private, UnapprovedHFToken, 404, "RepoNotFound", false},
		{"private approved", private, DemoHFToken, 302, "", false},
		{"missing repo no token", missing, "", 401, "", true},
		{"missing repo token", missing, DemoHFToken, 404, "RepoNotFound", false},
		{"missing file", sdxl + "main/nope.bin", "", 404, "EntryNotFound", false},
		{"bad revision", sdxl + "v9/sd_xl_base_1.0.safetensors", "", 404, "RevisionNotFound", false},
		{"tag", sdxl + "v1.0/sd_xl_base_1.0.safetensors", "", 302, "", false},
		{"escaped pr ref", sdxl + "refs%2Fpr%2F1/sd_xl_base_1.0.safetensors", "", 302, "", false},
		{"invalid token", sdxl + "main/sd_xl_base_1.0.safetensors", "hf_bogus", 401, "", false},
		{"dataset", "/datasets/gsdf/EasyNegative/resolve/main/EasyNegative.safetensors", "",
			302, "", false},
		{"dataset as model", "/gsdf/EasyNegative/resolve/main/EasyNegative.safetensors", "",
			401, "", true},
		{"renamed repo", "/stability-old/sdxl-base/resolve/main/README.md", "", 307, "", false},
		{"blob page", "/stabilityai/stable-diffusion-xl-base-1.0/blob/main/README.md", "",
			200, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tt.token != "" {
				hdr["Authorization"] = "Bearer " + tt.token
			}
			resp, body := get(t, noFollow, s.HubURL+tt.path, hdr)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tt.status, body)
			}
			if got := resp.Header.Get("X-Error-Code"); got != tt.code {
				t.Errorf("X-Error-Code %q, want %q", got, tt.code)
			}
			if got := resp.Header.Get("WWW-Authenticate") != ""; got != tt.www {
				t.Errorf("WWW-Authenticate present = %v, want %v", got, tt.www)
			}
		})
	}

	// Exact bodies and messages that resolvers match on.
	_, body := get(t, noFollow, s.HubURL+sdxl+"main/sd_xl_base_1.0.safetensors",
		map[string]string{"Authorization": "Bearer hf_bogus"})
	if string(body) != `{"error":"Invalid credentials in Authorization header"}` {
		t.Errorf("invalid token body %s", body)
	}
	resp, _ := get(t, noFollow, s.HubURL+sdxl+"main/nope.bin", nil)
	if resp.Header.Get("X-Repo-Commit") == "" {
		t.Error("EntryNotFound without X-Repo-Commit")
	}
	resp, _ = get(t, noFollow, s.HubURL+flux, map[string]string{"Authorization": "Bearer " +
		UnapprovedHFToken})
	if msg := resp.Header.Get("X-Error-Message"); !strings.Contains(msg,
		s.HubURL+"/black-forest-labs/FLUX.1-dev") {
		t.Errorf("403 message %q does not point to the repo page", msg)
	}
	resp, _ = get(t, noFollow, s.HubURL+sdxl+"refs%2Fpr%2F1/sd_xl_base_1.0.safetensors", nil)
	if got := resp.Header.Get("X-Repo-Commit"); got != fakeSHA1("sdxl pr 1") {
		t.Errorf("refs/pr/1 commit %s", got)
	}
}

func TestRenamedAndGzip(t *testing.T) {
	s := start(t, Config{GzipText: true})
	old := s.HubURL + "/stability-old/sdxl-base/resolve/"
	resp, _ := get(t, noFollow, old+"refs%2Fpr%2F1/README.md", nil)
	if loc := resp.Header.Get("Location"); loc !=
		"/stabilityai/stable-diffusion-xl-base-1.0/resolve/refs%2Fpr%2F1/README.md" {
		t.Errorf("renamed Location %q", loc)
	}
	// Go's client asks for gzip and decompresses it.
	f := s.Catalog.Repo("stabilityai/stable-diffusion-xl-base-1.0").File("README.md")
	resp, body := get(t, http.DefaultClient, old+"main/README.md", nil)
	if resp.StatusCode != 200 || !resp.Uncompressed || string(body) != string(f.Body) {
		t.Errorf("gzip answer: %d uncompressed=%v %q", resp.StatusCode, resp.Uncompressed, body)
	}
}

func TestTreePagination(t *testing.T) {
	s := start(t, Config{TreePageSize: 3})
	repo := s.Catalog.Repo("username/embeddings-collection")
	next := s.HubURL + "/api/models/" + repo.ID + "/tree/main?recursive=true"
	var files []string
	dirs := 0
	for pages := 0; next != ""; pages++ {
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
		resp, body := get(t, noFollow, next, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		var page []treeEntry
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		if len(page) > 3 {
			t.Fatalf("page of %d entries, want ≤ 3", len(page))
		}
		for _, e := range page {
			if e.Type == "directory" {
				dirs++
				continue
			}
			files = append(files, e.Path)
			f := repo.File(e.Path)
			if e.Size != f.Size || (f.LFS() && (e.LFS == nil || e.LFS.OID != f.SHA256())) {
				t.Errorf("entry %+v does not match the file", e)
			}
			if !f.LFS() && e.LFS != nil {
				t.Errorf("small file %s has lfs info", e.Path)
			}
		}
		next = ""
		if l := resp.Header.Get("Link"); l != "" {
			next = strings.TrimSuffix(strings.TrimPrefix(l, "<"), `>; rel="next"`)
		}
	}
	if len(files) != len(repo.Files) || dirs != 4 {
		t.Errorf("listed %d files and %d dirs, want %d and 4: %v", len(files), dirs,
			len(repo.Files), files)
	}

	// Non-recursive listing of a subfolder; a missing folder is 404.
	_, body := get(t, noFollow, s.HubURL+"/api/models/"+repo.ID+"/tree/main/styles", nil)
	var page []treeEntry
	json.Unmarshal(body, &page)
	if len(page) != 1 || page[0].Path != "styles/ink" || page[0].Type != "directory" {
		t.Errorf("tree of styles: %s", body)
	}
	resp, _ := get(t, noFollow, s.HubURL+"/api/models/"+repo.ID+"/tree/main/nope", nil)
	if resp.StatusCode != 404 {
		t.Errorf("missing folder: %d", resp.StatusCode)
	}
	// Gated repos need the token for listings too.
	resp, _ = get(t, noFollow, s.HubURL+"/api/models/black-forest-labs/FLUX.1-dev/tree/main",
		nil)
	if resp.StatusCode != 401 || resp.Header.Get("X-Error-Code") != "GatedRepo" {
		t.Errorf("gated tree without token: %d", resp.StatusCode)
	}
}

func TestRepoInfoAndWhoami(t *testing.T) {
	s := start(t, Config{})
	_, body := get(t, noFollow, s.HubURL+"/api/models/black-forest-labs/FLUX.1-dev?blobs=true",
		map[string]string{"Authorization": "Bearer " + DemoHFToken})
	var info struct {
		ID, SHA  string
		Gated    any
		Siblings []struct {
			RFilename string `json:"rfilename"`
			Size      int64
			LFS       *struct{ SHA256 string }
		}
	}
	if err := json.Unmarshal(body, &info); err != nil {
		t.Fatal(err)
	}
	repo := s.Catalog.Repo("black-forest-labs/FLUX.1-dev")
	if info.ID != repo.ID || info.SHA != repo.Commit || info.Gated != "manual" ||
		len(info.Siblings) != 3 || info.Siblings[1].LFS.SHA256 != repo.Files[1].SHA256() {
		t.Errorf("info %s", body)
	}

	resp, body := get(t, noFollow, s.HubURL+"/api/whoami-v2",
		map[string]string{"Authorization": "Bearer " + DemoHFToken})
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"role":"read"`) {
		t.Errorf("whoami: %d %s", resp.StatusCode, body)
	}
	for _, tok := range []string{"", "hf_bogus"} {
		hdr := map[string]string{}
		if tok != "" {
			hdr["Authorization"] = "Bearer " + tok
		}
		if resp, _ := get(t, noFollow, s.HubURL+"/api/whoami-v2", hdr); resp.StatusCode != 401 {
			t.Errorf("whoami with %q: %d", tok, resp.StatusCode)
		}
	}
}
