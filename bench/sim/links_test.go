package sim

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

func TestDrive(t *testing.T) {
	s := start(t, Config{})
	base := s.FilesURL + "/drive.google.com"
	small, big := s.Catalog.Drive[0], s.Catalog.Drive[1]

	resp, body := get(t, fresh(), base+"/file/d/"+small.ID+"/view?usp=sharing", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("share page: %d", resp.StatusCode)
	}
	resp, body = get(t, fresh(), base+"/uc?id="+small.ID+"&export=download", nil)
	if resp.StatusCode != 200 || sum(body) != small.SHA256() ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), `filename="tiny_vae.safetensors"`) {
		t.Fatalf("small file: %d %q", resp.StatusCode, resp.Header.Get("Content-Disposition"))
	}

	// A large file first gives the warning form; its action with every
	// hidden input gives the file.
	resp, body = get(t, fresh(), base+"/uc?id="+big.ID+"&export=download", nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Disposition") != "" ||
		!strings.Contains(string(body), "can't scan this file for viruses") {
		t.Fatalf("large file: %d %s", resp.StatusCode, body)
	}
	action := regexp.MustCompile(`action="([^"]+)"`).FindStringSubmatch(string(body))[1]
	q := url.Values{}
	for _, m := range regexp.MustCompile(`name="(\w+)" value="([^"]*)"`).FindAllStringSubmatch(
		string(body), -1) {
		q.Set(m[1], m[2])
	}
	if len(q) != 4 {
		t.Fatalf("hidden inputs %v", q)
	}
	resp, body = get(t, fresh(), action+"?"+q.Encode(), nil)
	if resp.StatusCode != 200 || sum(body) != big.SHA256() {
		t.Fatalf("confirmed download: %d", resp.StatusCode)
	}
	q.Del("uuid")
	if _, body = get(t, fresh(), action+"?"+q.Encode(), nil); !strings.Contains(string(body),
		"<form") {
		t.Error("download without uuid did not give the form again")
	}
	if resp, _ = get(t, fresh(), base+"/uc?id=nope&export=download", nil); resp.StatusCode != 404 {
		t.Errorf("missing id: %d", resp.StatusCode)
	}
}

func TestGitHubAndDropbox(t *testing.T) {
	s := start(t, Config{})
	lfs, plain := s.Catalog.GitHub[0], s.Catalog.GitHub[1]
	dbx := "/www.dropbox.com/scl/fi/abc123xyz/dropbox_lora.safetensors"
	tests := []struct {
		name, path string
		status     int
		sha        string // sha256 of the body, "" to skip
		contains   string // substring of the body
	}{
		{"blob page", "/github.com/someone/models/blob/main/" + lfs.Path, 200, "", "<html>"},
		{"raw pointer", "/raw.githubusercontent.com/someone/models/main/" + lfs.Path, 200, "",
			"version https://git-lfs.github.com/spec/v1\noid sha256:" + lfs.SHA256()},
		{"media", "/media.githubusercontent.com/media/someone/models/main/" + lfs.Path, 200,
			lfs.SHA256(), ""},
		{"raw plain", "/raw.githubusercontent.com/someone/models/main/" + plain.Path, 200,
			plain.SHA256(), ""},
		{"github raw link", "/github.com/someone/models/raw/main/" + plain.Path, 200,
			plain.SHA256(), ""},
		{"missing", "/raw.githubusercontent.com/someone/models/main/nope", 404, "", ""},
		{"dropbox preview", dbx + "?rlkey=k3y9&dl=0", 200, "", "<html>"},
		{"dropbox download", dbx + "?rlkey=k3y9&dl=1", 200, s.Catalog.Dropbox[0].SHA256(), ""},
		{"dropbox no rlkey", dbx + "?dl=1", 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, &http.Client{}, s.FilesURL+tt.path, nil)
			if resp.StatusCode != tt.status || (tt.sha != "" && sum(body) != tt.sha) ||
				!strings.Contains(string(body), tt.contains) {
				t.Errorf("%d, %d bytes", resp.StatusCode, len(body))
			}
		})
	}
	if n := s.Stats().Requests["github"]; n != 7 {
		t.Errorf("github requests %d", n)
	}
}
