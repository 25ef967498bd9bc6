package sim

import (
	"compress/gzip"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// hub plays huggingface.co:
//
//	{HubURL}/{org}/{name}/resolve/{rev}/{path}           HEAD, GET
//	{HubURL}/datasets/{org}/{name}/resolve/{rev}/{path}  the same for datasets
//	{HubURL}/{org}/{name}/blob/{rev}/{path}              an HTML page (200)
//	{HubURL}/api/resolve-cache/{models|datasets}/{org}/{name}/{commit}/{path}
//	{HubURL}/api/{models|datasets|spaces}/{org}/{name}[/revision/{rev}][?blobs=true]
//	{HubURL}/api/{models|datasets|spaces}/{org}/{name}/tree/{rev}[/{dir}][?recursive=true]
//	{HubURL}/api/whoami-v2
//
// The revision segment is percent-decoded, so "refs%2Fpr%2F1" is one
// revision. Tokens count only as "Authorization: Bearer <token>".
func (s *Sim) hub(w http.ResponseWriter, r *http.Request) {
	segs := splitPath(r.URL.EscapedPath())
	api := len(segs) >= 2 && segs[0] == "api"
	switch {
	case api && segs[1] == "whoami-v2":
		s.setKind(r, "hub.whoami")
	case api && segs[1] == "resolve-cache":
		s.setKind(r, "hub.cache")
	case api && slices.Contains(segs, "tree"):
		s.setKind(r, "hub.tree")
	case api:
		s.setKind(r, "hub.repo")
	default:
		s.setKind(r, "hub.resolve")
	}
	token, sent := bearer(r)
	if sent && !s.validHF(token) {
		hfError(w, http.StatusUnauthorized, "", "Invalid credentials in Authorization header")
		return
	}
	switch {
	case api && segs[1] == "whoami-v2":
		s.whoami(w, token)
	case api && segs[1] == "resolve-cache" && len(segs) >= 4:
		s.resolveCache(w, r, token, strings.TrimSuffix(segs[2], "s"), segs[3:])
	case api && (segs[1] == "models" || segs[1] == "datasets" || segs[1] == "spaces") &&
		len(segs) >= 3:
		s.repoAPI(w, r, token, strings.TrimSuffix(segs[1], "s"), segs[2:])
	case !api:
		s.resolve(w, r, token, segs)
	default:
		hfError(w, http.StatusNotFound, "", "Sorry, we can't find the page you are looking for.")
	}
}

// resolve answers /{repo}/resolve/{rev}/{path} and /{repo}/blob/....
func (s *Sim) resolve(w http.ResponseWriter, r *http.Request, token string, segs []string) {
	kind := "model"
	if len(segs) > 0 && (segs[0] == "datasets" || segs[0] == "spaces") {
		kind, segs = strings.TrimSuffix(segs[0], "s"), segs[1:]
	}
	i := slices.IndexFunc(segs, func(p string) bool { return p == "resolve" || p == "blob" })
	if i < 1 || i > 2 || len(segs) < i+3 {
		hfError(w, http.StatusNotFound, "", "Sorry, we can't find the page you are looking for.")
		return
	}
	id, rev, p := strings.Join(segs[:i], "/"), segs[i+1], strings.Join(segs[i+2:], "/")
	if to, ok := s.Catalog.Renamed[id]; ok {
		prefix := "/"
		if kind != "model" {
			prefix += kind + "s/"
		}
		loc := prefix + to + "/" + segs[i] + "/" + url.PathEscape(rev) + "/" + escapePath(p)
		redirect(w, r, loc, http.StatusTemporaryRedirect)
		return
	}
	repo, ok := s.hfAccess(w, kind, id, token)
	if !ok {
		return
	}
	commit := repo.commitFor(rev)
	if commit == "" {
		hfError(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
		return
	}
	f := repo.File(p)
	if f == nil {
		w.Header().Set("X-Repo-Commit", commit)
		hfError(w, http.StatusNotFound, "EntryNotFound", "Entry not found")
		return
	}
	if segs[i] == "blob" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte("<!doctype html><html><head><title>" + p + " · " + id +
			"</title></head><body><h1>" + p + "</h1><p>Git LFS file</p></body></html>\n"))
		return
	}
	fs := s.repoF[f]
	b := fs.blob()
	h := w.Header()
	h.Set("X-Repo-Commit", commit)
	h.Set("Accept-Ranges", "bytes")
	h.Set("Vary", "Origin, Accept-Encoding")
	h.Set("X-Linked-Size", strconv.FormatInt(b.size, 10))
	name := baseName(f.Path)
	h.Set("Content-Disposition", "inline; filename*=UTF-8''"+url.PathEscape(name)+
		"; filename=\""+name+"\";")
	var loc string
	status := http.StatusFound
	if f.LFS() {
		etag := `"` + b.sha256() + `"`
		h.Set("X-Linked-Etag", etag)
		h.Set("ETag", etag)
		loc = s.signedURL("lfs", fs)
	} else {
		etag := `"` + gitSHA1(b, false) + `"`
		h.Set("X-Linked-Etag", etag)
		h.Set("ETag", etag)
		loc = "/api/resolve-cache/" + kind + "s/" + repo.ID + "/" + commit + "/" +
			escapePath(f.Path)
		status = http.StatusTemporaryRedirect
	}
	redirect(w, r, loc, status)
}

// resolveCache serves a small file after the hub's relative 307.
func (s *Sim) resolveCache(w http.ResponseWriter, r *http.Request, token, kind string,
	segs []string) {
	if len(segs) < 4 {
		hfError(w, http.StatusNotFound, "EntryNotFound", "Entry not found")
		return
	}
	repo, ok := s.hfAccess(w, kind, segs[0]+"/"+segs[1], token)
	if !ok {
		return
	}
	commit := repo.commitFor(segs[2])
	if commit == "" {
		hfError(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+segs[2])
		return
	}
	f := repo.File(strings.Join(segs[3:], "/"))
	if f == nil {
		w.Header().Set("X-Repo-Commit", commit)
		hfError(w, http.StatusNotFound, "EntryNotFound", "Entry not found")
		return
	}
	if s.cfg.GzipText && !f.LFS() && r.Header.Get("Range") == "" &&
		strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		s.serveGzip(w, r, s.repoF[f], commit)
		return
	}
	fs := s.repoF[f]
	b := fs.blob()
	s.serveBlob(w, r, fs, func(h http.Header) {
		h.Set("X-Repo-Commit", commit)
		h.Set("ETag", `"`+gitSHA1(b, f.LFS())+`"`)
		switch {
		case strings.HasSuffix(f.Path, ".json"):
			h.Set("Content-Type", "application/json")
		case !f.LFS():
			h.Set("Content-Type", "text/plain; charset=utf-8")
		}
	})
}

// hfAccess finds the repo and checks the token against it, answering the
// hub's error when access is refused.
func (s *Sim) hfAccess(w http.ResponseWriter, kind, id, token string) (*Repo, bool) {
	var repo *Repo
	for _, rp := range s.Catalog.Repos {
		if rp.ID == id && rp.kind() == kind {
			repo = rp
		}
	}
	approved := repo != nil && s.approved(token, repo.ID)
	if repo == nil || (repo.Private && !approved) {
		if token == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="Authentication required", `+
				`charset="UTF-8"`)
			w.Header().Set("X-Error-Message", "Invalid username or password.")
			jsonAnswer(w, http.StatusUnauthorized,
				map[string]string{"error": "Invalid username or password."})
			return nil, false
		}
		hfError(w, http.StatusNotFound, "RepoNotFound", "Repository not found")
		return nil, false
	}
	if repo.Gated && !approved {
		if token == "" {
			hfError(w, http.StatusUnauthorized, "GatedRepo", "Access to "+kind+" "+id+
				" is restricted. You must have access to it and be authenticated to "+
				"access it. Please log in.")
			return nil, false
		}
		hfError(w, http.StatusForbidden, "GatedRepo", "Access to "+kind+" "+id+
			" is restricted and you are not in the authorized list. Visit "+
			s.HubURL+"/"+id+" to ask for access.")
		return nil, false
	}
	return repo, true
}

func (s *Sim) validHF(token string) bool {
	_, ok := s.Catalog.HFTokens[token]
	return ok
}

func (s *Sim) approved(token, id string) bool {
	return token != "" && slices.Contains(s.Catalog.HFTokens[token], id)
}

// whoami answers /api/whoami-v2.
func (s *Sim) whoami(w http.ResponseWriter, token string) {
	if token == "" {
		hfError(w, http.StatusUnauthorized, "", "Invalid username or password.")
		return
	}
	jsonAnswer(w, http.StatusOK, map[string]any{
		"type": "user", "id": fakeSHA1("user " + token)[:24], "name": "sim-user",
		"fullname": "Simulated User", "orgs": []any{},
		"auth": map[string]any{"type": "access_token",
			"accessToken": map[string]any{"displayName": "sim", "role": "read"}},
	})
}

// hfError answers a hub error: X-Error-Code (when code is set),
// X-Error-Message and a JSON body {"error": msg}.
func hfError(w http.ResponseWriter, status int, code, msg string) {
	if code != "" {
		w.Header().Set("X-Error-Code", code)
	}
	w.Header().Set("X-Error-Message", msg)
	jsonAnswer(w, status, map[string]string{"error": msg})
}

// bearer returns the token of an "Authorization: Bearer" header, and
// whether an Authorization header was sent at all.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false
	}
	scheme, tok, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", true
	}
	return strings.TrimSpace(tok), true
}

// redirect answers a redirect with a short text body, as the hub does.
func redirect(w http.ResponseWriter, r *http.Request, loc string, status int) {
	w.Header().Set("Location", loc)
	body := []byte(http.StatusText(status) + ". Redirecting to " + loc)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

func jsonAnswer(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// splitPath splits an escaped URL path into unescaped segments, so that an
// escaped "/" stays inside its segment.
func splitPath(escaped string) []string {
	parts := strings.Split(strings.Trim(escaped, "/"), "/")
	for i, p := range parts {
		if u, err := url.PathUnescape(p); err == nil {
			parts[i] = u
		}
	}
	return parts
}

// escapePath percent-encodes each segment of a slash separated path.
func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// serveGzip answers a small file gzip-encoded with chunked transfer, as
// the hub may when the client accepts gzip.
func (s *Sim) serveGzip(w http.ResponseWriter, r *http.Request, fs *fileState, commit string) {
	b := fs.blob()
	s.noteFile(recOf(r.Context()), b.seed, "")
	h := w.Header()
	h.Set("X-Repo-Commit", commit)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Encoding", "gzip")
	h.Set("Vary", "Accept-Encoding")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	zw := gzip.NewWriter(w)
	zw.Write(content(b))
	zw.Close()
	s.noteSent(b.seed, 0, b.size)
}
