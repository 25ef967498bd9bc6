package sim

import (
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"testing"
)

func TestCivitAIVersionAPI(t *testing.T) {
	s := start(t, Config{})
	_, body := get(t, noFollow, s.CivitAIURL+"/api/v1/model-versions/202", nil)
	var v struct {
		ID, ModelID int
		Model       struct{ Name, Type string }
		Files       []struct {
			ID       int
			Name     string
			SizeKB   float64
			Primary  bool
			Metadata struct{ Format, FP, Size string }
			Hashes   map[string]string
			URL      string `json:"downloadUrl"`
		}
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	ver := s.Catalog.Version(202)
	if v.ID != 202 || v.ModelID != 100 || v.Model.Type != "Checkpoint" || len(v.Files) != 3 {
		t.Fatalf("version: %s", body)
	}
	for i, f := range v.Files {
		cf := ver.Files[i]
		if f.ID != cf.ID || f.Name != cf.Name || f.Primary != cf.Primary ||
			f.Hashes["SHA256"] != strings.ToUpper(cf.SHA256()) ||
			math.Abs(f.SizeKB*1024-float64(cf.Size)) > 1 || f.Metadata.FP != cf.FP {
			t.Errorf("file %d: %+v", i, f)
		}
	}
	fp8 := "/api/download/models/202?type=Model&format=SafeTensor&size=pruned&fp=fp8"
	if v.Files[1].URL != s.CivitAIURL+fp8 {
		t.Errorf("fp8 downloadUrl %s", v.Files[1].URL)
	}

	_, body = get(t, noFollow, s.CivitAIURL+"/api/v1/models/100", nil)
	var m struct {
		ID            int
		ModelVersions []struct{ ID int }
	}
	json.Unmarshal(body, &m)
	if m.ID != 100 || len(m.ModelVersions) != 3 || m.ModelVersions[1].ID != 202 {
		t.Errorf("model 100: %s", body)
	}

	for _, tt := range []struct {
		path   string
		status int
		body   string
	}{
		{"/api/v1/model-versions/999999", 404, `{"error":"Model not found"}`},
		{"/api/v1/models/999999", 404, `{"error":"No model with id 999999"}`},
		{"/api/v1/model-versions/abc", 400, ""},
		{"/api/download/models/999999", 404, `{"error":"Model not found"}`},
		{"/api/download/models/202?fileId=99", 404, `{"error":"File not found"}`},
		{"/api/download/models/202?fp=fp4", 404, `{"error":"File not found"}`},
	} {
		resp, body := get(t, noFollow, s.CivitAIURL+tt.path, nil)
		if resp.StatusCode != tt.status || (tt.body != "" && string(body) != tt.body) {
			t.Errorf("%s: %d %s, want %d %s", tt.path, resp.StatusCode, body, tt.status, tt.body)
		}
	}
}

func TestCivitAIDownload(t *testing.T) {
	s := start(t, Config{})
	browser := "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0"
	tests := []struct {
		name, path string
		hdr        map[string]string
		status     int
		file       int    // the CivitAI file id served after the redirect
		body       string // substring of the JSON error
	}{
		{"public", "/api/download/models/135867", nil, 307, 1358, ""},
		{"primary by default", "/api/download/models/202", nil, 307, 1, ""},
		{"fileId", "/api/download/models/202?fileId=2", nil, 307, 2, ""},
		{"fp selector", "/api/download/models/202?type=Model&format=SafeTensor&fp=fp8", nil,
			307, 2, ""},
		{"type selector", "/api/download/models/202?type=VAE", nil, 307, 3, ""},
		{"login wall", "/api/download/models/42", nil, 401, 0, `"error":"Unauthorized"`},
		{"login wall bad token", "/api/download/models/42?token=nope", nil, 401, 0, "logged in"},
		{"login wall browser", "/api/download/models/42",
			map[string]string{"User-Agent": browser}, 307, 0, ""},
		{"login bearer", "/api/download/models/42",
			map[string]string{"Authorization": "Bearer " + DemoCivitAIToken}, 307, 42, ""},
		{"login query token", "/api/download/models/42?token=" + DemoCivitAIToken, nil, 307, 42, ""},
		{"early access", "/api/download/models/43", nil, 403, 0, `"deadline":"2099-01-01T00:00:00Z"`},
		{"archived", "/api/download/models/44", nil, 410, 0, "archived"},
		{"disabled", "/api/download/models/45",
			map[string]string{"Authorization": "Bearer " + DemoCivitAIToken}, 401, 0, "disabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, noFollow, s.CivitAIURL+tt.path, tt.hdr)
			if resp.StatusCode != tt.status || !strings.Contains(string(body), tt.body) {
				t.Fatalf("%d %s, want %d with %s", resp.StatusCode, body, tt.status, tt.body)
			}
			if tt.status != 307 {
				if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Errorf("Content-Type %q", ct)
				}
				return
			}
			loc := resp.Header.Get("Location")
			if tt.file == 0 { // the browser's login wall
				if !strings.HasPrefix(loc, "/login?returnUrl=") ||
					!strings.HasSuffix(loc, "&reason=download-auth") {
					t.Fatalf("login Location %q", loc)
				}
				resp, body := get(t, noFollow, s.CivitAIURL+loc, nil)
				if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"),
					"text/html") || !strings.Contains(string(body), "<html>") {
					t.Errorf("login page %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
				}
				return
			}
			if !strings.HasPrefix(loc, s.CDNURL+"/storage/") {
				t.Fatalf("Location %q is not on the storage host", redactQ(loc))
			}
			var f *CivitFile
			for _, m := range s.Catalog.Models {
				for _, v := range m.Versions {
					if cf := v.File(tt.file); cf != nil {
						f = cf
					}
				}
			}
			resp, body = get(t, noFollow, loc, nil)
			if resp.StatusCode != 200 || sum(body) != f.SHA256() {
				t.Fatalf("storage: %d, sha256 mismatch", resp.StatusCode)
			}
			if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename="`+f.Name+`"` {
				t.Errorf("Content-Disposition %q", cd)
			}
			resp, _ = get(t, noFollow, loc, map[string]string{"Authorization": "Bearer " +
				DemoCivitAIToken})
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("storage with Authorization: %d", resp.StatusCode)
			}
		})
	}
}

func TestCivitAIDispositions(t *testing.T) {
	s := start(t, Config{})
	for _, tt := range []struct {
		version, want string
	}{
		{"181248", ""},
		{"46", `attachment; filename="青禅_Zen.safetensors"`},
		{"47", `attachment; filename="a.tar.gz";`},
	} {
		resp, _ := get(t, http.DefaultClient, s.CivitAIURL+"/api/download/models/"+tt.version,
			nil)
		if got := resp.Header.Get("Content-Disposition"); resp.StatusCode != 200 || got != tt.want {
			t.Errorf("version %s: %d %q, want %q", tt.version, resp.StatusCode, got, tt.want)
		}
	}
}
