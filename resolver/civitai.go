package resolver

import (
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"provision/internal/fname"
	"provision/internal/netx"
)

// civVersion is the part of /api/v1/model-versions/{id} the resolver uses.
type civVersion struct {
	ID      int64     `json:"id"`
	ModelID int64     `json:"modelId"`
	Name    string    `json:"name"`
	Files   []civFile `json:"files"`
}

// civFile is one file of a CivitAI model version.
type civFile struct {
	ID       int64   `json:"id"`
	Name     string  `json:"name"`
	Type     string  `json:"type"`
	SizeKB   float64 `json:"sizeKB"`
	Primary  bool    `json:"primary"`
	Metadata struct {
		Format string `json:"format"`
		Size   string `json:"size"`
		FP     string `json:"fp"`
	} `json:"metadata"`
	Hashes map[string]string `json:"hashes"`
}

// civModel is the part of /api/v1/models/{id} the resolver uses.
type civModel struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Versions []struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	} `json:"modelVersions"`
}

// civAnswer is CivitAI's JSON error body.
type civAnswer struct {
	Error    string `json:"error"`
	Message  string `json:"message"`
	Deadline string `json:"deadline"`
}

// resolveCivitAI resolves src's version and file selectors; targets and
// messages belong to e (src differs from e when a pasted CivitAI link was
// turned into a CivitAI lookup).
func (r *Resolver) resolveCivitAI(ctx context.Context, e, src *Entry) ([]*Target, error) {
	vid := strings.TrimSpace(src.VersionID)
	v, err := r.civVersion(ctx, e, vid)
	if err != nil {
		return nil, err
	}
	f, err := r.civChoose(e, src, v)
	if err != nil {
		return nil, err
	}
	name := e.Filename
	if name == "" {
		name = f.Name
	}
	rel := fname.Base(name)
	if rel == "" {
		rel = fname.Base(fmt.Sprintf("civitai-%s-%d", vid, f.ID))
	}
	loc, hdr, err := r.civDownload(ctx, e, vid, v.ModelID, f.ID)
	if err != nil {
		return nil, err
	}
	size, err := r.civProbe(ctx, e, loc, hdr, rel, f)
	if err != nil {
		return nil, err
	}
	t := &Target{
		Entry: e, Rel: rel, URL: loc, Header: hdr, Size: size, SHA256: civSHA256(f),
		Origin: netx.Redact(r.cfg.CivitAIEndpoint) + "/api/download/models/" +
			url.PathEscape(vid) + "?fileId=" + strconv.FormatInt(f.ID, 10),
	}
	t.ETag = t.SHA256
	t.refresh = func(ctx context.Context) (string, http.Header, error) {
		return r.civDownload(ctx, e, vid, v.ModelID, f.ID)
	}
	return []*Target{t}, nil
}

// civHeader is the header set for a request to u: the token only when u is
// on the CivitAI host.
func (r *Resolver) civHeader(u *url.URL) (http.Header, bool) {
	h := http.Header{"Accept-Encoding": {"identity"}}
	if r.cfg.CivitAIToken != "" && onHost(u, r.civ.Host) {
		h.Set("Authorization", "Bearer "+r.cfg.CivitAIToken)
		return h, true
	}
	return h, false
}

// civGet GETs a CivitAI URL without following redirects; API answers are
// asked for as JSON, the download endpoint as any download client would.
func (r *Resolver) civGet(ctx context.Context, e *Entry, raw string) (*http.Response, bool,
	error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, false, entryErr(e, failf(ErrUnsupported, "bad CivitAI URL %s",
			netx.Redact(raw)), "check CIVITAI_ENDPOINT and model_id")
	}
	h, sent := r.civHeader(u)
	if strings.Contains(u.Path, "/api/v1/") {
		h.Set("Accept", "application/json")
	}
	resp, err := r.send(ctx, r.noFollow, http.MethodGet, raw, h)
	if err != nil {
		return nil, sent, r.unreachable(e, "CivitAI", u, err)
	}
	return resp, sent, nil
}

// civVersion fetches a version's metadata; a 404 checks whether the id is
// a model id instead, to say so.
func (r *Resolver) civVersion(ctx context.Context, e *Entry, vid string) (*civVersion, error) {
	resp, sent, err := r.civGet(ctx, e,
		r.cfg.CivitAIEndpoint+"/api/v1/model-versions/"+url.PathEscape(vid))
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		var v civVersion
		err := json.NewDecoder(resp.Body).Decode(&v)
		_ = resp.Body.Close()
		if err != nil {
			return nil, entryErr(e, failf(ErrUnavailable,
				"CivitAI's description of version %s is not JSON: %v", vid, err),
				"check CIVITAI_ENDPOINT")
		}
		return &v, nil
	case http.StatusNotFound, http.StatusBadRequest:
		discard(resp)
		if err := r.civModelInstead(ctx, e, vid); err != nil {
			return nil, err
		}
		return nil, entryErr(e, failf(ErrVersionNotFound,
			"CivitAI has no model version %s", vid),
			"model_id must be a version id: the number after modelVersionId= in the "+
				"model page's address")
	}
	return nil, r.civError(e, vid, 0, -1, resp, sent)
}

// civModelInstead returns the "this is a model id" error when vid names a
// model, and nil otherwise.
func (r *Resolver) civModelInstead(ctx context.Context, e *Entry, vid string) error {
	resp, _, err := r.civGet(ctx, e, r.cfg.CivitAIEndpoint+"/api/v1/models/"+url.PathEscape(vid))
	if err != nil {
		return nil
	}
	if resp.StatusCode != http.StatusOK {
		discard(resp)
		return nil
	}
	var m civModel
	err = json.NewDecoder(resp.Body).Decode(&m)
	_ = resp.Body.Close()
	if err != nil || len(m.Versions) == 0 {
		return nil
	}
	var list []string
	for i, v := range m.Versions {
		if i == 10 {
			list = append(list, fmt.Sprintf("and %d more", len(m.Versions)-i))
			break
		}
		list = append(list, fmt.Sprintf("%d (%s)", v.ID, v.Name))
	}
	return entryErr(e, failf(ErrModelNotVersion,
		"CivitAI id %s is a model (%q), not a model version", vid, m.Name),
		"set model_id to one of its version ids: "+strings.Join(list, ", "))
}

// civDownload asks the download endpoint for one file without following
// its redirect and returns where the bytes are: the signed storage URL it
// points to (no header: the token stays on the CivitAI host), or, when the
// endpoint answers 200 with the file itself, the endpoint URL and the
// header carrying the token. A 200 counts as the file only with a
// Content-Disposition naming a file and a type that is not a web page or
// JSON; any other 200 is an error page, never a model.
func (r *Resolver) civDownload(ctx context.Context, e *Entry, vid string, model, fid int64) (
	string, http.Header, error) {
	raw := r.cfg.CivitAIEndpoint + "/api/download/models/" + url.PathEscape(vid) +
		"?fileId=" + strconv.FormatInt(fid, 10)
	for hop := 0; hop < 5; hop++ {
		resp, sent, err := r.civGet(ctx, e, raw)
		if err != nil {
			return "", nil, err
		}
		if !isRedirect(resp.StatusCode) {
			if resp.StatusCode == http.StatusOK {
				ct := resp.Header.Get("Content-Type")
				name, named := ParseContentDisposition(resp.Header.Get("Content-Disposition"))
				_ = resp.Body.Close()
				if named && !notAFile(name, ct) && !isPageType(ct) {
					u, _ := url.Parse(raw)
					h, _ := r.civHeader(u)
					h.Del("Accept-Encoding")
					return raw, h, nil
				}
				what := document(ct)
				if !isPageType(ct) {
					what = "an answer of type " + mediaType(ct) + " that names no file"
				}
				return "", nil, entryErr(e, failf(ErrNotAFile,
					"CivitAI answered the download of version %s with %s instead of the "+
						"file (%s)", vid, what, tokenNote(sent)),
					"the version may need CIVITAI_TOKEN or may not be downloadable; see "+
						r.civPage(model, vid))
			}
			return "", nil, r.civError(e, vid, model, fid, resp, sent)
		}
		loc, err := resp.Location()
		discard(resp)
		if err != nil {
			return "", nil, entryErr(e, failf(ErrUnavailable,
				"CivitAI redirected the download of version %s nowhere", vid), "try again later")
		}
		if !onHost(loc, r.civ.Host) {
			return loc.String(), nil, nil
		}
		if strings.Contains(strings.ToLower(loc.Path), "login") {
			return "", nil, r.civLogin(e, vid, model, sent, "")
		}
		raw = loc.String()
	}
	return "", nil, entryErr(e, failf(ErrUnavailable,
		"CivitAI redirected the download of version %s too often", vid), "try again later")
}

// isPageType reports whether ct is a web page, JSON or XML document type,
// whatever the file name says: a download endpoint never serves a model as
// one of those.
func isPageType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "text/html" || mt == "application/xhtml+xml" || mt == "application/json" ||
		strings.HasSuffix(mt, "+json") || mt == "application/xml" || mt == "text/xml"
}

// civPage is the web page of a version, for messages.
func (r *Resolver) civPage(model int64, vid string) string {
	base := netx.Redact(r.cfg.CivitAIEndpoint)
	if model > 0 {
		return fmt.Sprintf("%s/models/%d?modelVersionId=%s", base, model, vid)
	}
	return base + "/model-versions/" + vid
}

// civLogin is the login wall's message.
func (r *Resolver) civLogin(e *Entry, vid string, model int64, sent bool, said string) error {
	if strings.Contains(strings.ToLower(said), "disabled") {
		return entryErr(e, failf(ErrNotApproved,
			"CivitAI says the creator disabled downloads of version %s (%s)", vid,
			tokenNote(sent)), "pick another version on "+r.civPage(model, vid))
	}
	if !sent {
		return entryErr(e, failf(ErrAuthRequired,
			"CivitAI requires a login to download version %s and no token was sent%s", vid,
			said), "set CIVITAI_TOKEN to an API key from "+
			netx.Redact(r.cfg.CivitAIEndpoint)+"/user/account")
	}
	return entryErr(e, failf(ErrNotApproved,
		"CivitAI refused to download version %s although a token was sent: the token is "+
			"invalid or the creator disabled downloads%s", vid, said),
		"check CIVITAI_TOKEN at "+netx.Redact(r.cfg.CivitAIEndpoint)+
			"/user/account and the version's page "+r.civPage(model, vid))
}

// civError turns an error answer of the API or download endpoint into the
// message for its case.
func (r *Resolver) civError(e *Entry, vid string, model, fid int64, resp *http.Response,
	sent bool) error {
	var a civAnswer
	_ = json.Unmarshal(readSmall(resp), &a)
	said := ""
	if m := clean(a.Message); m != "" {
		said = " (CivitAI says: " + m + ")"
	}
	page := r.civPage(model, vid)
	switch st := resp.StatusCode; {
	case st == http.StatusTooManyRequests:
		return entryErr(e, failf(ErrRateLimited,
			"CivitAI kept answering 429 Too Many Requests for version %s", vid),
			"wait a few minutes and run again")
	case st == http.StatusUnauthorized:
		return r.civLogin(e, vid, model, sent, said)
	case st == http.StatusForbidden && strings.Contains(strings.ToLower(a.Error), "early"):
		until := ""
		if d := clean(a.Deadline); d != "" {
			until = " until " + d
		}
		return entryErr(e, failf(ErrEarlyAccess,
			"CivitAI version %s is in early access%s (%s)", vid, until, tokenNote(sent)),
			"buy early access on "+page+" with the token's account, or wait for the deadline")
	case st == http.StatusForbidden:
		return entryErr(e, failf(ErrNotApproved,
			"CivitAI refused to download version %s (403, %s)%s", vid, tokenNote(sent), said),
			"check CIVITAI_TOKEN and the version's page "+page)
	case st == http.StatusGone:
		return entryErr(e, failf(ErrArchived,
			"CivitAI version %s was archived and its files are no longer available", vid),
			"pick another version on "+page)
	case st == http.StatusNotFound && fid > 0:
		return entryErr(e, failf(ErrFileNotFound,
			"CivitAI has no file %d in version %s%s", fid, vid, said),
			"check file_id against the files listed on "+page)
	case st == http.StatusNotFound:
		return entryErr(e, failf(ErrVersionNotFound, "CivitAI has no model version %s%s",
			vid, said), "check model_id (a version id)")
	}
	return entryErr(e, failf(ErrUnavailable, "CivitAI answered %d for version %s",
		resp.StatusCode, vid), "try again later")
}

// clean keeps a server-provided phrase printable and short.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, strings.TrimSpace(s))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// civSHA256 is a file's lowercase SHA256 from the API, or "".
func civSHA256(f *civFile) string {
	for k, v := range f.Hashes {
		if strings.EqualFold(k, "SHA256") && isHex64(v) {
			return strings.ToLower(v)
		}
	}
	return ""
}

// civProbe asks signed storage (or, with hdr, the download endpoint that
// serves the file itself) for the file's first byte: the exact size
// (sizeKB is only approximate) and proof that a file, not a page, is
// served. A size far from sizeKB means the wrong thing is served.
func (r *Resolver) civProbe(ctx context.Context, e *Entry, loc string, hdr http.Header,
	rel string, f *civFile) (int64, error) {
	p, err := r.probe(ctx, loc, hdr, r.civ.Host)
	if err != nil {
		u, _ := url.Parse(loc)
		return 0, r.unreachable(e, "CivitAI's storage", u, err)
	}
	switch {
	case p.status == http.StatusRequestedRangeNotSatisfiable,
		p.status == http.StatusMethodNotAllowed, p.status == http.StatusNotImplemented:
		return -1, nil
	case p.status/100 != 2:
		return 0, entryErr(e, failf(ErrUnavailable,
			"CivitAI's storage answered %d for %s", p.status, netx.Redact(loc)),
			"try again later")
	case notAFile(rel, p.contentType):
		return 0, entryErr(e, failf(ErrNotAFile,
			"CivitAI's storage answered with %s instead of %s",
			document(p.contentType), rel), "check the version's page for the file")
	}
	if p.size >= 0 && f.SizeKB > 0 {
		want := f.SizeKB * 1024
		if d := float64(p.size) - want; d > want/50+65536 || -d > want/50+65536 {
			return 0, entryErr(e, failf(ErrNotAFile,
				"CivitAI's storage serves %d bytes for %s but the API says about %s",
				p.size, rel, approx(f.SizeKB)), "try again later; if it persists, set file_id")
		}
	}
	return p.size, nil
}
