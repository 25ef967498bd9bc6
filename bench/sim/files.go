package sim

import (
	"net/http"
	"strings"
)

// plainFiles serves the catalog's plain files at {FilesURL}/{name} (the
// query is ignored), with Range support, the file's Content-Disposition,
// and 403 when a required header is missing or wrong. Unknown names answer
// 404 text/plain.
func (s *Sim) plainFiles(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/")
	if s.extra(w, r, name) {
		return
	}
	s.setKind(r, "files")
	f := s.Catalog.File(name)
	if f == nil {
		http.Error(w, "404 page not found", http.StatusNotFound)
		return
	}
	if f.Header != "" && r.Header.Get(f.Header) != f.Value {
		http.Error(w, "403 Forbidden: missing or wrong "+f.Header, http.StatusForbidden)
		return
	}
	fs := s.plain[name]
	s.serveBlob(w, r, fs, func(h http.Header) {
		if fs.disp != "" {
			h.Set("Content-Disposition", fs.disp)
		}
	})
}
