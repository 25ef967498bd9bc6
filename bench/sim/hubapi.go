package sim

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// repoAPI answers /api/{kind}s/{id}[/revision/{rev}] and
// /api/{kind}s/{id}/tree/{rev}[/{dir}]. segs starts at the repo id.
func (s *Sim) repoAPI(w http.ResponseWriter, r *http.Request, token, kind string,
	segs []string) {
	i := slices.IndexFunc(segs, func(p string) bool { return p == "tree" || p == "revision" })
	id, rest := strings.Join(segs, "/"), []string(nil)
	if i >= 1 {
		id, rest = strings.Join(segs[:i], "/"), segs[i:]
	}
	repo, ok := s.hfAccess(w, kind, id, token)
	if !ok {
		return
	}
	rev := "main"
	if len(rest) >= 2 {
		rev = rest[1]
	}
	commit := repo.commitFor(rev)
	if commit == "" {
		hfError(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
		return
	}
	switch {
	case len(rest) == 0 || (rest[0] == "revision" && len(rest) == 2):
		s.repoInfo(w, r, repo, commit)
	case rest[0] == "tree" && len(rest) >= 2:
		s.tree(w, r, repo, commit, strings.Join(rest[2:], "/"))
	default:
		hfError(w, http.StatusNotFound, "", "Sorry, we can't find the page you are looking for.")
	}
}

// repoInfo answers the repo's info: {id, sha, gated, private, siblings...}.
func (s *Sim) repoInfo(w http.ResponseWriter, r *http.Request, repo *Repo, commit string) {
	blobs := r.URL.Query().Get("blobs") == "true"
	sib := []map[string]any{}
	for _, f := range repo.Files {
		e := map[string]any{"rfilename": f.Path}
		if blobs {
			b := s.repoF[f].blob()
			e["size"] = b.size
			e["blobId"] = gitSHA1(b, f.LFS())
			if f.LFS() {
				e["lfs"] = map[string]any{"sha256": b.sha256(), "size": b.size,
					"pointerSize": len(lfsPointer(b.sha256(), b.size))}
			}
		}
		sib = append(sib, e)
	}
	var gated any = false
	if repo.Gated {
		gated = "manual"
	}
	author, _, _ := strings.Cut(repo.ID, "/")
	jsonAnswer(w, http.StatusOK, map[string]any{
		"_id": fakeSHA1("id " + repo.ID)[:24], "id": repo.ID, "author": author,
		"sha": commit, "lastModified": "2024-08-01T12:00:00.000Z",
		"private": repo.Private, "gated": gated, "disabled": false,
		"downloads": 0, "likes": 0, "tags": []string{}, "siblings": sib,
	})
}

// treeEntry is one item of the tree API.
type treeEntry struct {
	Type string   `json:"type"`
	OID  string   `json:"oid"`
	Size int64    `json:"size"`
	Path string   `json:"path"`
	LFS  *lfsInfo `json:"lfs,omitempty"`
}

type lfsInfo struct {
	OID         string `json:"oid"`
	Size        int64  `json:"size"`
	PointerSize int    `json:"pointerSize"`
}

// tree answers the tree API, paginated with a Link rel="next" header whose
// URL carries a cursor (an offset) and keeps the other query parameters.
func (s *Sim) tree(w http.ResponseWriter, r *http.Request, repo *Repo, commit, dir string) {
	q := r.URL.Query()
	entries := treeOf(repo, dir, q.Get("recursive") == "true" || q.Get("recursive") == "1")
	if entries == nil {
		w.Header().Set("X-Repo-Commit", commit)
		hfError(w, http.StatusNotFound, "EntryNotFound", "Entry not found")
		return
	}
	start, _ := strconv.Atoi(q.Get("cursor"))
	start = min(max(start, 0), len(entries))
	end := min(start+s.cfg.TreePageSize, len(entries))
	page := entries[start:end]
	for i := range page {
		if page[i].Type == "file" {
			f := repo.File(page[i].Path)
			b := s.repoF[f].blob()
			page[i].Size = b.size
			page[i].OID = gitSHA1(b, f.LFS())
			if f.LFS() {
				sha := b.sha256()
				page[i].LFS = &lfsInfo{OID: sha, Size: b.size,
					PointerSize: len(lfsPointer(sha, b.size))}
			}
		}
	}
	if end < len(entries) {
		q.Set("cursor", strconv.Itoa(end))
		next := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
		w.Header().Set("Link", "<"+s.HubURL+next.String()+`>; rel="next"`)
	}
	w.Header().Set("X-Repo-Commit", commit)
	jsonAnswer(w, http.StatusOK, page)
}

// treeOf lists the files and directories under dir ("" for the root), all
// of them or only the direct children, sorted by path; nil when dir is not
// a directory of the repo.
func treeOf(repo *Repo, dir string, recursive bool) []treeEntry {
	dir = strings.Trim(dir, "/")
	prefix := dir + "/"
	if dir == "" {
		prefix = ""
	}
	dirs := map[string]bool{}
	entries := []treeEntry{}
	found := dir == ""
	for _, f := range repo.Files {
		rel, ok := strings.CutPrefix(f.Path, prefix)
		if !ok {
			continue
		}
		found = true
		// Every directory between dir and the file.
		parts := strings.Split(rel, "/")
		for i := 1; i < len(parts); i++ {
			if !recursive && i > 1 {
				break
			}
			d := prefix + strings.Join(parts[:i], "/")
			if !dirs[d] {
				dirs[d] = true
				entries = append(entries, treeEntry{Type: "directory",
					OID: fakeSHA1("tree " + repo.ID + "/" + d), Path: d})
			}
		}
		if recursive || len(parts) == 1 {
			entries = append(entries, treeEntry{Type: "file", Path: f.Path})
		}
	}
	if !found {
		return nil
	}
	slices.SortFunc(entries, func(a, b treeEntry) int { return strings.Compare(a.Path, b.Path) })
	return entries
}
