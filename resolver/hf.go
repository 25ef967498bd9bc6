package resolver

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"provision/internal/fname"
	"provision/internal/netx"
)

// hfRef names one file (or, with file "", a whole repo) on the hub.
type hfRef struct {
	repo     string // "org/name"
	repoType string // "model", "dataset" or "space"; "" means model
	rev      string // branch, tag or commit; "" means main
	file     string // path inside the repo
}

// prefix is the path element before the repo for its kind.
func (f hfRef) prefix() string {
	switch f.repoType {
	case "dataset":
		return "datasets/"
	case "space":
		return "spaces/"
	}
	return ""
}

// revision is the revision to ask for, "main" when none was given.
func (f hfRef) revision() string {
	if f.rev == "" {
		return "main"
	}
	return f.rev
}

// hfFile is what the hub says about one file.
type hfFile struct {
	url    string      // where the bytes are: a signed CDN URL, or the hub URL itself
	header http.Header // headers for url (the token only when url is on the hub)
	size   int64       // -1 when unknown
	sha256 string      // lowercase, only when the hub gave a 64-hex X-Linked-Etag
	etag   string      // content identity: X-Linked-Etag or ETag, unquoted
	commit string      // X-Repo-Commit
}

// hubFileURL returns the hub's resolve URL of a file.
func (r *Resolver) hubFileURL(f hfRef) string {
	return r.cfg.HFEndpoint + "/" + f.prefix() + escapePath(f.repo) + "/resolve/" +
		url.PathEscape(f.revision()) + "/" + escapePath(f.file)
}

// repoPage is the repo's web page, for messages.
func (r *Resolver) repoPage(f hfRef) string {
	return netx.Redact(r.cfg.HFEndpoint + "/" + f.prefix() + f.repo)
}

// resolveHF resolves a HuggingFace entry.
func (r *Resolver) resolveHF(ctx context.Context, e *Entry) ([]*Target, error) {
	ref := hfRef{repo: e.Repo, repoType: e.RepoType, rev: e.Revision, file: e.File}
	if e.DownloadAll {
		return r.hfAll(ctx, e, ref)
	}
	name := e.Filename
	if name == "" {
		name = e.File
	}
	t, _, err := r.hfSingle(ctx, e, ref, nil, name)
	if err != nil {
		return nil, err
	}
	return []*Target{t}, nil
}

// hfSingle resolves one file into a Target named name (made safe here) and
// returns the commit the hub resolved it at. extra headers go to the hub
// host only, next to the token.
func (r *Resolver) hfSingle(ctx context.Context, e *Entry, ref hfRef, extra http.Header,
	name string) (*Target, string, error) {
	rel := fname.Base(name)
	if rel == "" {
		return nil, "", entryErr(e, failf(ErrUnsupported, "no usable file name in %q", name),
			"set filename in the entry")
	}
	f, err := r.hfLocate(ctx, e, ref, extra, rel)
	if err != nil {
		return nil, "", err
	}
	pinned := ref
	if isCommit(f.commit) {
		pinned.rev = f.commit
	}
	t := &Target{
		Entry: e, Rel: rel, URL: f.url, Header: f.header, Size: f.size,
		SHA256: f.sha256, ETag: f.etag, Origin: netx.Redact(r.hubFileURL(ref)),
	}
	if t.ETag == "" {
		t.ETag = f.commit
	}
	t.refresh = func(ctx context.Context) (string, http.Header, error) {
		f, err := r.hfLocate(ctx, e, pinned, extra, rel)
		if err != nil {
			return "", nil, err
		}
		return f.url, f.header, nil
	}
	return t, f.commit, nil
}

// hubHeader returns the headers for a request to u: the token and extra
// headers only when u is on the hub host, and always identity encoding so
// that sizes are byte counts.
func (r *Resolver) hubHeader(u *url.URL, extra http.Header) (http.Header, bool) {
	h := http.Header{"Accept-Encoding": {"identity"}}
	if !onHost(u, r.hub.Host) {
		return h, false
	}
	for k, vs := range extra {
		h[k] = append([]string(nil), vs...)
	}
	if r.cfg.HFToken != "" {
		h.Set("Authorization", "Bearer "+r.cfg.HFToken)
	}
	return h, h.Get("Authorization") != ""
}

// hfLocate asks the hub where a file's bytes are, without following the
// redirect to the CDN: relative redirects (small files, renamed repos) are
// followed on the hub with the token; the first redirect off the hub ends
// the walk and its target gets no token.
func (r *Resolver) hfLocate(ctx context.Context, e *Entry, ref hfRef, extra http.Header,
	name string) (*hfFile, error) {
	raw := r.hubFileURL(ref)
	u, err := url.Parse(raw)
	if err != nil {
		return nil, entryErr(e, failf(ErrUnsupported, "bad HuggingFace URL %s: %v",
			netx.Redact(raw), err), "check HF_ENDPOINT, repo and file")
	}
	f := &hfFile{size: -1}
	method := http.MethodHead
	for hop := 0; hop < 10; hop++ {
		h, sent := r.hubHeader(u, extra)
		resp, err := r.send(ctx, r.noFollow, method, u.String(), h)
		if err != nil {
			return nil, r.unreachable(e, "HuggingFace", u, err)
		}
		f.take(resp.Header)
		switch {
		case isRedirect(resp.StatusCode):
			loc, err := resp.Location()
			discard(resp)
			if err != nil {
				return nil, entryErr(e, failf(ErrUnavailable,
					"HuggingFace answered %d without a usable Location for %s",
					resp.StatusCode, netx.Redact(u.String())), "try again later")
			}
			if onHost(loc, r.hub.Host) {
				u = loc
				continue
			}
			f.url = loc.String()
			return f, nil
		case resp.StatusCode == http.StatusMethodNotAllowed && method == http.MethodHead,
			resp.StatusCode == http.StatusNotImplemented && method == http.MethodHead:
			discard(resp)
			method = http.MethodGet
			hop--
			continue
		case resp.StatusCode == http.StatusOK:
			_ = resp.Body.Close()
			if notAFile(name, resp.Header.Get("Content-Type")) {
				return nil, entryErr(e, failf(ErrNotAFile,
					"HuggingFace answered with a %s page instead of %s in %s",
					resp.Header.Get("Content-Type"), ref.file, ref.repo),
					"check repo and file: the link may point to a web page")
			}
			if f.size < 0 && resp.ContentLength >= 0 && !resp.Uncompressed {
				f.size = resp.ContentLength
			}
			if f.etag == "" {
				f.etag = unquoteETag(resp.Header.Get("ETag"))
			}
			f.url = u.String()
			if sent || len(extra) > 0 {
				f.header = h
			} else {
				f.header = http.Header{"Accept-Encoding": {"identity"}}
			}
			return f, nil
		case method == http.MethodHead && resp.Header.Get("X-Error-Code") == "" &&
			resp.StatusCode != http.StatusTooManyRequests:
			// A HEAD error has no body to tell an invalid token from a
			// private repo: ask once more with GET to read it.
			discard(resp)
			method = http.MethodGet
			hop--
			continue
		default:
			return nil, r.hfError(e, ref, resp, sent)
		}
	}
	return nil, entryErr(e, failf(ErrUnavailable, "HuggingFace redirected %s more than 10 times",
		netx.Redact(r.hubFileURL(ref))), "check HF_ENDPOINT")
}

// take records the X-Linked and commit headers of one hub answer.
func (f *hfFile) take(h http.Header) {
	if v := h.Get("X-Linked-Size"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			f.size = n
		}
	}
	if v := unquoteETag(h.Get("X-Linked-Etag")); v != "" {
		f.etag = v
		f.sha256 = ""
		if isHex64(v) {
			f.sha256 = strings.ToLower(v)
		}
	}
	if v := h.Get("X-Repo-Commit"); v != "" {
		f.commit = v
	}
}

// unquoteETag strips a weak prefix and quotes from an ETag.
func unquoteETag(v string) string {
	v = strings.TrimSpace(v)
	v = strings.TrimPrefix(v, "W/")
	return strings.Trim(v, `"`)
}

// isCommit reports whether s is a full 40-hex git commit id.
func isCommit(s string) bool {
	if len(s) != 40 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// unreachable reports a request that got no answer at all.
func (r *Resolver) unreachable(e *Entry, service string, u *url.URL, err error) error {
	if ctxErr := contextErr(err); ctxErr != nil {
		return entryErr(e, ctxErr, "")
	}
	return entryErr(e, failf(ErrUnavailable, "%s could not be reached at %s: %v", service,
		netx.Redact(u.String()), netx.RedactError(err)), "check the network and the endpoint")
}

// gatedNoToken is the message for a gated repo asked without a token.
func (r *Resolver) gatedNoToken(e *Entry, repo string) error {
	ref := hfRef{repo: repo, repoType: e.RepoType}
	return entryErr(e, failf(ErrAuthRequired,
		"HuggingFace says %s is gated and needs a token; no token was sent", repo),
		"set HF_TOKEN to a token of an account that accepted the license at "+r.repoPage(ref))
}

// hfError turns a hub error answer into the message for its case.
func (r *Resolver) hfError(e *Entry, ref hfRef, resp *http.Response, sent bool) error {
	body := string(readSmall(resp))
	code := resp.Header.Get("X-Error-Code")
	msg := resp.Header.Get("X-Error-Message")
	page := r.repoPage(ref)
	what := "file " + ref.file + " in " + ref.repo
	if ref.file == "" {
		what = "repo " + ref.repo
	}
	st := resp.StatusCode
	switch {
	case st == http.StatusTooManyRequests:
		return entryErr(e, failf(ErrRateLimited,
			"HuggingFace kept answering 429 Too Many Requests for %s (%s)", what,
			tokenNote(sent)), "wait a few minutes and run again; a token gets higher limits")
	case st == http.StatusUnauthorized && sent && invalidCredentials(body+" "+msg):
		return entryErr(e, failf(ErrInvalidToken,
			"HuggingFace rejected HF_TOKEN as invalid credentials (a token was sent)"),
			"create a new token at "+netx.Redact(r.cfg.HFEndpoint+"/settings/tokens")+
				" and set HF_TOKEN to it")
	case code == "GatedRepo" && st == http.StatusUnauthorized && !sent:
		return r.gatedNoToken(e, ref.repo)
	case code == "GatedRepo" && st == http.StatusUnauthorized:
		return entryErr(e, failf(ErrInvalidToken,
			"HuggingFace says %s is gated and did not accept the token sent", ref.repo),
			"check HF_TOKEN: it may be expired or mistyped")
	case code == "GatedRepo":
		return entryErr(e, failf(ErrNotApproved,
			"HuggingFace says %s is gated and this token is not approved (a token was sent)",
			ref.repo), "request access at "+page)
	case code == "RepoNotFound":
		return entryErr(e, failf(ErrRepoNotFound,
			"HuggingFace has no repo %s, or it is private (%s)", ref.repo, tokenNote(sent)),
			"check the repo name at "+page)
	case code == "RevisionNotFound":
		return entryErr(e, failf(ErrRevisionNotFound,
			"HuggingFace repo %s has no revision %q (%s)", ref.repo, ref.revision(),
			tokenNote(sent)), "use a branch, tag or commit that exists at "+page)
	case code == "EntryNotFound":
		return entryErr(e, failf(ErrFileNotFound,
			"HuggingFace repo %s has no file %s at revision %s (%s)", ref.repo, ref.file,
			ref.revision(), tokenNote(sent)), "check the file path at "+page+"/tree/"+
			url.PathEscape(ref.revision()))
	case st == http.StatusUnauthorized && sent:
		return entryErr(e, failf(ErrPrivateOrMissing,
			"HuggingFace repo %s is private or does not exist (a token was sent)",
			ref.repo),
			"check the repo name, and that the token's account can read it")
	case st == http.StatusUnauthorized:
		return entryErr(e, failf(ErrPrivateOrMissing,
			"HuggingFace repo %s is private or does not exist (no token was sent)",
			ref.repo),
			"check the repo name, or set HF_TOKEN if it is private")
	case st == http.StatusForbidden:
		return entryErr(e, failf(ErrNotApproved, "HuggingFace refused access to %s (403, %s)",
			ref.repo, tokenNote(sent)), "check that the token may read "+page)
	case st == http.StatusNotFound:
		return entryErr(e, failf(ErrNotFound, "HuggingFace answered 404 for %s (%s)", what,
			tokenNote(sent)), "check repo, file and revision at "+page)
	}
	return entryErr(e, failf(ErrUnavailable, "HuggingFace answered %d for %s", st, what),
		"try again later")
}

// invalidCredentials recognises the hub's "bad token" answer.
func invalidCredentials(s string) bool {
	s = strings.ToLower(s)
	return strings.Contains(s, "invalid credentials") || strings.Contains(s, "invalid token")
}

// CheckHFToken asks the hub whether HF_TOKEN is valid (GET /api/whoami-v2).
// It returns nil for a valid token, an error matching ErrAuthRequired when
// no token is set, ErrInvalidToken when the hub rejects it, and
// ErrUnavailable when the hub cannot say. The token never appears in the
// error.
func (r *Resolver) CheckHFToken(ctx context.Context) error {
	if r.cfg.HFToken == "" {
		return failf(ErrAuthRequired, "HF_TOKEN is not set")
	}
	raw := r.cfg.HFEndpoint + "/api/whoami-v2"
	u, err := url.Parse(raw)
	if err != nil {
		return failf(ErrUnavailable, "bad HF_ENDPOINT %s", netx.Redact(raw))
	}
	h, _ := r.hubHeader(u, nil)
	h.Set("Accept", "application/json")
	resp, err := r.send(ctx, r.noFollow, http.MethodGet, raw, h)
	if err != nil {
		if c := contextErr(err); c != nil {
			return c
		}
		return failf(ErrUnavailable, "check HF_TOKEN: HuggingFace could not be reached: %v",
			netx.RedactError(err))
	}
	discard(resp)
	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusUnauthorized, http.StatusForbidden:
		return failf(ErrInvalidToken, "HuggingFace rejected HF_TOKEN as invalid; create a "+
			"new token at %s", netx.Redact(r.cfg.HFEndpoint+"/settings/tokens"))
	}
	return failf(ErrUnavailable, "check HF_TOKEN: HuggingFace answered %d", resp.StatusCode)
}
