package sim

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestManifestsResolve checks that every repo, version and URL the bundled
// manifests name is served.
func TestManifestsResolve(t *testing.T) {
	s := start(t, Config{})
	repoRE := regexp.MustCompile(`repo = "([^"]+)"(?:,\s*file = "([^"]+)")?`)
	idRE := regexp.MustCompile(`model_id = "(\d+)"`)
	urlRE := regexp.MustCompile(`"(http://[^"]+)"`)
	for name, m := range s.Manifests() {
		t.Run(name, func(t *testing.T) {
			if strings.Contains(m, "{") && strings.Contains(m, "{HUB}") {
				t.Fatal("placeholder left")
			}
			flat := regexp.MustCompile(`\s+`).ReplaceAllString(m, " ")
			for _, g := range repoRE.FindAllStringSubmatch(flat, -1) {
				repo := s.Catalog.Repo(g[1])
				if repo == nil || (g[2] != "" && repo.File(g[2]) == nil) {
					t.Errorf("%s %s not in the catalog", g[1], g[2])
				}
			}
			for _, g := range idRE.FindAllStringSubmatch(m, -1) {
				id, _ := strconv.Atoi(g[1])
				if s.Catalog.Version(id) == nil {
					t.Errorf("version %d not in the catalog", id)
				}
			}
			for _, g := range urlRE.FindAllStringSubmatch(m, -1) {
				resp, _ := get(t, http.DefaultClient, g[1], map[string]string{
					"X-Api-Key": DemoAPIKey})
				if resp.StatusCode != 200 {
					t.Errorf("%s: %d", g[1], resp.StatusCode)
				}
			}
		})
	}
	if r := ManyFilesRepo("many/files", 300, 10); len(r.Files) != 300 ||
		r.Files[299].Path != "files/f0299.bin" {
		t.Error("ManyFilesRepo")
	}
}
