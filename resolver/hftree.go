package resolver

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"

	"provision/internal/fname"
	"provision/internal/netx"
)

// hfTreeItem is one element of the hub's tree listing.
type hfTreeItem struct {
	Type string `json:"type"`
	Path string `json:"path"`
	Size int64  `json:"size"`
	OID  string `json:"oid"`
	LFS  *struct {
		OID    string `json:"oid"`
		SHA256 string `json:"sha256"`
		Size   int64  `json:"size"`
	} `json:"lfs"`
}

// sha256 is the file's content hash when the listing knows it (LFS files).
func (it *hfTreeItem) sha256() string {
	if it.LFS == nil {
		return ""
	}
	for _, s := range []string{it.LFS.SHA256, it.LFS.OID} {
		if isHex64(s) {
			return strings.ToLower(s)
		}
	}
	return ""
}

// size is the file's byte count.
func (it *hfTreeItem) size() int64 {
	if it.LFS != nil && it.LFS.Size > 0 {
		return it.LFS.Size
	}
	return it.Size
}

// hfTree lists every file of a repo at ref's revision, following the
// listing's Link rel="next" pages.
func (r *Resolver) hfTree(ctx context.Context, e *Entry, ref hfRef) ([]hfTreeItem, error) {
	kind := "models"
	switch ref.repoType {
	case "dataset":
		kind = "datasets"
	case "space":
		kind = "spaces"
	}
	next := r.cfg.HFEndpoint + "/api/" + kind + "/" + escapePath(ref.repo) + "/tree/" +
		url.PathEscape(ref.revision()) + "?recursive=true"
	var files []hfTreeItem
	for page := 0; next != "" && page < 10000; page++ {
		u, err := url.Parse(next)
		if err != nil {
			return nil, entryErr(e, failf(ErrUnavailable, "HuggingFace listing of %s gave "+
				"a bad next page link", ref.repo), "try again later")
		}
		h, sent := r.hubHeader(u, nil)
		h.Set("Accept", "application/json")
		resp, err := r.send(ctx, r.noFollow, http.MethodGet, u.String(), h)
		if err != nil {
			return nil, r.unreachable(e, "HuggingFace", u, err)
		}
		if resp.StatusCode != http.StatusOK {
			return nil, r.hfError(e, ref, resp, sent)
		}
		var items []hfTreeItem
		err = json.NewDecoder(resp.Body).Decode(&items)
		_ = resp.Body.Close()
		if err != nil {
			return nil, entryErr(e, failf(ErrUnavailable,
				"HuggingFace listing of %s is not a JSON file list: %v", ref.repo, err),
				"check HF_ENDPOINT")
		}
		for _, it := range items {
			if it.Type == "file" || it.Type == "" && it.Path != "" {
				files = append(files, it)
			}
		}
		next = ""
		if l := nextLink(resp.Header.Values("Link")); l != "" {
			if nu, err := u.Parse(l); err == nil {
				next = nu.String()
			}
		}
	}
	return files, nil
}

// nextLink returns the target of a Link header's rel="next", or "".
func nextLink(values []string) string {
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			part = strings.TrimSpace(part)
			if !strings.HasPrefix(part, "<") {
				continue
			}
			end := strings.IndexByte(part, '>')
			if end < 0 {
				continue
			}
			for _, p := range strings.Split(part[end+1:], ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
				if !ok || !strings.EqualFold(strings.TrimSpace(k), "rel") {
					continue
				}
				for _, rel := range strings.Fields(strings.Trim(val, `"`)) {
					if strings.EqualFold(rel, "next") {
						return part[1:end]
					}
				}
			}
		}
	}
	return ""
}

// eagerSize is the size from which a download_all file is resolved to its
// CDN URL up front. Smaller files are fetched in one request, so pointing
// them at the hub's resolve URL costs one hub request per file either way;
// larger ones are fetched in many ranges, each of which would otherwise hit
// the hub (and its rate limit) again.
const eagerSize = 32 << 20

// eagerWorkers bounds concurrent up-front resolves of large files.
const eagerWorkers = 4

// hfAll resolves a download_all entry: the repo's tree at the revision,
// filtered by Include and Exclude, one Target per file with size and sha256
// from the listing. The first file is always asked for at once: that proves
// access (a gated or private repo fails here with its own message, not in
// the middle of the download) and names the commit that pins every other
// URL, so a push during the download cannot mix two commits.
func (r *Resolver) hfAll(ctx context.Context, e *Entry, ref hfRef) ([]*Target, error) {
	for _, p := range append(append([]string(nil), e.Include...), e.Exclude...) {
		if !validGlob(p) {
			return nil, entryErr(e, failf(ErrUnsupported, "pattern %q is not a valid glob", p),
				"use *, ?, [a-z] and ** in include and exclude")
		}
	}
	items, err := r.hfTree(ctx, e, ref)
	if err != nil {
		return nil, err
	}
	var files []hfTreeItem
	for _, it := range items {
		if selected(it.Path, e.Include, e.Exclude) && fname.Rel(it.Path) != "" {
			files = append(files, it)
		}
	}
	if len(files) == 0 {
		return nil, entryErr(e, failf(ErrNoMatch,
			"none of the %d files of %s at revision %s matches include %q exclude %q",
			len(items), ref.repo, ref.revision(), e.Include, e.Exclude),
			"check include and exclude against the file list at "+r.repoPage(ref))
	}

	// The largest file goes first: it is resolved up front in any case.
	first := 0
	for i, it := range files {
		if it.size() > files[first].size() {
			first = i
		}
	}
	ts := make([]*Target, len(files))
	one := ref
	one.file = files[first].Path
	t, commit, err := r.hfListed(ctx, e, one, files[first])
	if err != nil {
		return nil, err
	}
	ts[first] = t
	pinned := ref
	if c := commit; isCommit(c) {
		pinned.rev = c
	}

	// Large files: resolved now, a few at a time.
	var (
		wg   sync.WaitGroup
		sem  = make(chan struct{}, eagerWorkers)
		errs = make([]error, len(files))
	)
	for i, it := range files {
		if i == first {
			continue
		}
		fr := pinned
		fr.file = it.Path
		if it.size() < eagerSize {
			ts[i] = r.hfLazy(e, fr, it)
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			ts[i], _, errs[i] = r.hfListed(ctx, e, fr, it)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return ts, nil
}

// hfListed resolves one listed file to its CDN URL now and returns the
// commit it was resolved at.
func (r *Resolver) hfListed(ctx context.Context, e *Entry, ref hfRef,
	it hfTreeItem) (*Target, string, error) {
	rel := fname.Rel(e.Name + "/" + it.Path)
	single, commit, err := r.hfSingle(ctx, e, ref, nil, it.Path)
	if err != nil {
		return nil, "", err
	}
	single.Rel = rel
	if n := it.size(); n > 0 || single.Size < 0 {
		single.Size = n
	}
	if s := it.sha256(); s != "" {
		single.SHA256 = s
	}
	return single, commit, nil
}

// hfLazy points a small listed file at its pinned resolve URL: the engine's
// one request follows the hub's redirect (the token is dropped when it
// leaves the hub), and the hub's 429s are the engine's Retry-After-aware
// retries instead of a burst of up-front requests.
func (r *Resolver) hfLazy(e *Entry, ref hfRef, it hfTreeItem) *Target {
	raw := r.hubFileURL(ref)
	u, _ := url.Parse(raw)
	h, _ := r.hubHeader(u, nil)
	etag := it.sha256()
	if etag == "" {
		etag = it.OID
	}
	return &Target{
		Entry: e, Rel: fname.Rel(e.Name + "/" + it.Path), URL: raw, Header: h,
		Size: it.size(), SHA256: it.sha256(), ETag: etag, Origin: netx.Redact(raw),
	}
}

// selected reports whether a repo path passes the include and exclude
// globs: included by any include pattern (all when there is none) and
// excluded by none.
func selected(p string, include, exclude []string) bool {
	for _, x := range exclude {
		if globMatch(x, p) {
			return false
		}
	}
	if len(include) == 0 {
		return true
	}
	for _, in := range include {
		if globMatch(in, p) {
			return true
		}
	}
	return false
}

// globMatch matches a glob against a repo path. A pattern without '/' also
// matches the base name ("*.safetensors" finds files in every folder); "**"
// spans any number of folders; a trailing '/' means everything below.
func globMatch(pattern, p string) bool {
	if strings.HasSuffix(pattern, "/") {
		pattern += "**"
	}
	if !strings.Contains(pattern, "/") {
		if ok, _ := path.Match(pattern, path.Base(p)); ok {
			return true
		}
	}
	return matchSegments(strings.Split(pattern, "/"), strings.Split(p, "/"))
}

// matchSegments matches path elements against pattern elements, "**"
// standing for zero or more elements.
func matchSegments(ps, ns []string) bool {
	for len(ps) > 0 {
		if ps[0] == "**" {
			for i := 0; i <= len(ns); i++ {
				if matchSegments(ps[1:], ns[i:]) {
					return true
				}
			}
			return false
		}
		if len(ns) == 0 {
			return false
		}
		if ok, _ := path.Match(ps[0], ns[0]); !ok {
			return false
		}
		ps, ns = ps[1:], ns[1:]
	}
	return len(ns) == 0
}

// validGlob reports whether every element of a pattern is a valid glob.
func validGlob(pattern string) bool {
	for _, seg := range strings.Split(pattern, "/") {
		if _, err := path.Match(seg, ""); err != nil {
			return false
		}
	}
	return pattern != ""
}
