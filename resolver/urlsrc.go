package resolver

import (
	"context"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"provision/internal/fname"
	"provision/internal/netx"
)

// resolveURL resolves a plain URL entry. Page links are first rewritten to
// their download form (RewriteLink); links into the configured hub or
// CivitAI are then handed to those resolvers, so that a pasted /blob/ page or
// download link gets the same metadata (size, sha256, name) as a native
// entry; anything else is probed.
func (r *Resolver) resolveURL(ctx context.Context, e *Entry) ([]*Target, error) {
	raw := RewriteLink(strings.TrimSpace(e.URL), r.cfg.HFEndpoint)
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, entryErr(e, failf(ErrUnsupported, "url %s is not an http(s) URL",
			netx.Redact(raw)), "use a full https:// address")
	}
	hdr := http.Header{}
	for k, v := range e.Headers {
		hdr.Set(k, v)
	}

	if ref, ok := r.hubRef(u); ok {
		name := e.Filename
		if name == "" {
			name = ref.file
		}
		t, _, err := r.hfSingle(ctx, e, ref, hdr, name)
		if err != nil {
			return nil, err
		}
		return []*Target{t}, nil
	}
	if src, ok := r.civLink(u); ok {
		return r.resolveCivitAI(ctx, e, src)
	}

	t, err := r.urlTarget(ctx, e, raw, hdr)
	if err != nil {
		return nil, err
	}
	return []*Target{t}, nil
}

// urlTarget probes a plain URL and builds its Target.
func (r *Resolver) urlTarget(ctx context.Context, e *Entry, raw string,
	hdr http.Header) (*Target, error) {
	u, _ := url.Parse(raw)
	loc, err := r.urlLocate(ctx, e, u, raw, hdr, 0)
	if err != nil {
		return nil, err
	}
	t := &Target{
		Entry: e, Rel: loc.name, URL: loc.p.final.String(), Size: loc.p.size,
		SHA256: loc.sha256, ETag: loc.p.etag, Origin: netx.Redact(raw),
		Header: scopedHeader(hdr, u.Host, loc.p.final), IfMatch: loc.p.strongETag,
	}
	if t.ETag == "" {
		t.ETag = loc.sha256
	}
	t.refresh = func(ctx context.Context) (string, http.Header, error) {
		loc, err := r.urlLocate(ctx, e, u, raw, hdr, 0)
		if err != nil {
			return "", nil, err
		}
		return loc.p.final.String(), scopedHeader(hdr, u.Host, loc.p.final), nil
	}
	return t, nil
}

// located is where a URL entry's bytes turned out to be.
type located struct {
	p      *probeResult
	name   string // safe file name
	sha256 string // from a Git LFS pointer that led here, else ""
}

// urlLocate probes raw and names the file. A web page that confirms a
// download (Google Drive's large-file warning) is followed to the file; a
// Git LFS pointer on raw.githubusercontent.com is followed to its media
// URL; any other page or pointer is refused. first is the entry's own URL:
// its host is the only one hdr goes to, and its path may give the name.
func (r *Resolver) urlLocate(ctx context.Context, e *Entry, first *url.URL, raw string,
	hdr http.Header, depth int) (*located, error) {
	u, _ := url.Parse(raw)
	p, err := r.probe(ctx, raw, hdr, first.Host)
	if err != nil {
		return nil, r.unreachable(e, "the server", u, err)
	}
	if p.status/100 != 2 {
		return nil, urlError(e, raw, p.status, len(hdr) > 0)
	}

	name := e.Filename
	if name == "" {
		if n, ok := ParseContentDisposition(p.disposition); ok {
			name = n
		} else {
			name = urlName(first, p.final)
		}
	}
	rel := fname.Base(name)
	if rel == "" {
		return nil, entryErr(e, failf(ErrUnsupported, "no file name can be told from %s",
			netx.Redact(first.String())), "set filename in the entry")
	}

	if notAFile(rel, p.contentType) {
		why := ""
		if mediaType(p.contentType) == "text/html" {
			page, err := r.readPage(ctx, p.final.String(), hdr, first.Host)
			if err == nil && depth < 2 {
				if next := confirmURL(page, p.final); next != "" {
					return r.urlLocate(ctx, e, first, next, hdr, depth+1)
				}
			}
			why = pageVerdict(page, p.final)
		}
		if why == "" {
			why = "the link points to a web page"
		}
		return nil, entryErr(e, failf(ErrNotAFile,
			"%s answered with %s, not the file %s", netx.Redact(first.String()),
			document(p.contentType), rel),
			why+"; use the file's direct download link")
	}

	// A tiny answer may be a Git LFS pointer standing for the real file.
	if p.size >= 0 && p.size < 1024 {
		small, err := r.readPage(ctx, p.final.String(), hdr, first.Host)
		if sha, size, ok := lfsPointer(small); err == nil && ok {
			media := githubMedia(p.final)
			if media == "" || depth >= 2 {
				return nil, entryErr(e, failf(ErrNotAFile,
					"%s sent a Git LFS pointer (a %d-byte file with sha256 %s), not the file",
					netx.Redact(first.String()), size, sha),
					"link the LFS media URL of the file instead")
			}
			loc, err := r.urlLocate(ctx, e, first, media, hdr, depth+1)
			if err != nil {
				return nil, err
			}
			if loc.p.size >= 0 && loc.p.size != size {
				return nil, entryErr(e, failf(ErrNotAFile,
					"%s serves %d bytes where its LFS pointer says %d",
					netx.Redact(media), loc.p.size, size), "try again later")
			}
			loc.p.size, loc.sha256 = size, sha
			return loc, nil
		}
	}
	return &located{p: p, name: rel}, nil
}

// scopedHeader returns the entry's headers for final only when final is on
// the host they were written for.
func scopedHeader(hdr http.Header, host string, final *url.URL) http.Header {
	if len(hdr) == 0 || !onHost(final, host) {
		return nil
	}
	return hdr.Clone()
}

// urlName is the file name a URL's path suggests: the pasted URL's last
// element when it looks like a file name, else the final URL's, else the
// pasted one's.
func urlName(first, final *url.URL) string {
	base := func(u *url.URL) string {
		if u == nil {
			return ""
		}
		return path.Base(u.Path)
	}
	a, b := base(first), base(final)
	switch {
	case strings.Contains(a, "."):
		return a
	case strings.Contains(b, "."):
		return b
	}
	return a
}

// urlError turns a probe's error status into a message.
func urlError(e *Entry, raw string, status int, withHeaders bool) error {
	where := netx.Redact(raw)
	switch {
	case (status == http.StatusUnauthorized || status == http.StatusForbidden) && withHeaders:
		return entryErr(e, failf(ErrNotApproved,
			"%s refused the entry's headers (%d)", where, status),
			"check the header values (and the variables they expand) for this host")
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return entryErr(e, failf(ErrAuthRequired,
			"%s asks for credentials (%d) and the entry sends no headers", where, status),
			`add headers = { Authorization = "Bearer ${TOKEN}" } to the entry`)
	case status == http.StatusNotFound || status == http.StatusGone:
		return entryErr(e, failf(ErrFileNotFound, "%s has no file there (%d)", where, status),
			"check the url")
	case status == http.StatusTooManyRequests:
		return entryErr(e, failf(ErrRateLimited,
			"%s kept answering 429 Too Many Requests", where), "wait a few minutes and run again")
	}
	return entryErr(e, failf(ErrUnavailable, "%s answered %d", where, status),
		"try again later")
}

// probeResult is what a HEAD (or one-byte GET) said about a URL.
type probeResult struct {
	final       *url.URL // after redirects
	status      int
	size        int64 // -1 when unknown
	contentType string
	disposition string
	etag        string // unquoted; or the Last-Modified time when there is no ETag
	strongETag  string // the ETag header as sent, when it is a strong one
}

// probe asks for raw's headers with HEAD, following redirects; when HEAD
// is refused or gives no size it GETs the first byte instead. hdr goes only
// to scopeHost: not at all when raw is elsewhere, and redirects that leave
// it drop hdr (and any Authorization).
func (r *Resolver) probe(ctx context.Context, raw string, hdr http.Header,
	scopeHost string) (*probeResult, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	ctx, h := scopedRequest(ctx, u, hdr, scopeHost)

	resp, err := r.send(ctx, r.follow, http.MethodHead, raw, h)
	if err != nil {
		return nil, err
	}
	head := probed(resp, false)
	discard(resp)
	if head.status/100 == 2 && head.size >= 0 || head.status == http.StatusTooManyRequests {
		return head, nil
	}

	// HEAD refused (signed URLs are often signed for GET only) or sizeless.
	h.Set("Range", "bytes=0-0")
	resp, err = r.send(ctx, r.follow, http.MethodGet, raw, h)
	if err != nil {
		if head.status/100 == 2 {
			return head, nil
		}
		return nil, err
	}
	got := probed(resp, true)
	_ = resp.Body.Close()
	return got, nil
}

// probed reads a probe answer's headers.
func probed(resp *http.Response, ranged bool) *probeResult {
	p := &probeResult{
		final: resp.Request.URL, status: resp.StatusCode, size: -1,
		contentType: resp.Header.Get("Content-Type"),
		disposition: resp.Header.Get("Content-Disposition"),
		etag:        unquoteETag(resp.Header.Get("ETag")),
	}
	if et := resp.Header.Get("ETag"); strings.HasPrefix(et, `"`) {
		p.strongETag = et
	}
	if p.etag == "" {
		// Without an ETag, the modification time is the best identity a
		// plain server gives: a file changed between two runs restarts.
		if lm := resp.Header.Get("Last-Modified"); lm != "" {
			p.etag = "last-modified " + lm
		}
	}
	switch {
	case ranged && resp.StatusCode == http.StatusPartialContent:
		p.size = rangeTotal(resp.Header.Get("Content-Range"))
	case resp.StatusCode == http.StatusOK && !resp.Uncompressed:
		p.size = resp.ContentLength
	}
	if ranged && resp.StatusCode == http.StatusPartialContent {
		p.status = http.StatusOK
	}
	return p
}

// rangeTotal reads the total of "bytes a-b/total", or -1.
func rangeTotal(v string) int64 {
	_, total, ok := strings.Cut(v, "/")
	if !ok {
		return -1
	}
	n, err := strconv.ParseInt(strings.TrimSpace(total), 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// hubRef reads repo, revision and file from a /resolve/ link on the
// configured hub.
func (r *Resolver) hubRef(u *url.URL) (hfRef, bool) {
	if !onHost(u, r.hub.Host) {
		return hfRef{}, false
	}
	p := strings.TrimPrefix(u.EscapedPath(), strings.TrimRight(r.hub.EscapedPath(), "/"))
	var segs []string
	for _, s := range strings.Split(strings.Trim(p, "/"), "/") {
		v, err := url.PathUnescape(s)
		if err != nil {
			return hfRef{}, false
		}
		segs = append(segs, v)
	}
	ref := hfRef{repoType: "model"}
	if len(segs) > 0 && (segs[0] == "datasets" || segs[0] == "spaces") {
		ref.repoType = strings.TrimSuffix(segs[0], "s")
		segs = segs[1:]
	}
	switch {
	case len(segs) >= 5 && segs[2] == "resolve":
		ref.repo, ref.rev, ref.file = segs[0]+"/"+segs[1], segs[3], strings.Join(segs[4:], "/")
	case len(segs) >= 4 && segs[1] == "resolve":
		ref.repo, ref.rev, ref.file = segs[0], segs[2], strings.Join(segs[3:], "/")
	default:
		return hfRef{}, false
	}
	return ref, ref.file != ""
}

// civLink reads a CivitAI download or model-page link on the configured
// CivitAI host into a lookup by version id and selectors, so the name
// comes from CivitAI's metadata and never from the link's query text.
func (r *Resolver) civLink(u *url.URL) (*Entry, bool) {
	if !onHost(u, r.civ.Host) {
		return nil, false
	}
	q := u.Query()
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	switch {
	case len(segs) == 4 && segs[0] == "api" && segs[1] == "download" && segs[2] == "models":
		return &Entry{VersionID: segs[3], FileID: q.Get("fileId"), Type: q.Get("type"),
			Format: q.Get("format"), FP: q.Get("fp"), Size: q.Get("size")}, true
	case len(segs) >= 2 && segs[0] == "models" && q.Get("modelVersionId") != "":
		return &Entry{VersionID: q.Get("modelVersionId")}, true
	case len(segs) == 2 && segs[0] == "model-versions":
		return &Entry{VersionID: segs[1]}, true
	}
	return nil, false
}

// scopedRequest returns the context and headers of a request to u: the
// entry's headers hdr only when u is on scopeHost (and dropped by any
// redirect that leaves it), and never a transparent encoding.
func scopedRequest(ctx context.Context, u *url.URL, hdr http.Header,
	scopeHost string) (context.Context, http.Header) {
	if !onHost(u, scopeHost) {
		hdr = nil
	}
	ctx = netx.Scoped(ctx, scopeHost, headerNames(hdr))
	h := hdr.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set("Accept-Encoding", "identity")
	return ctx, h
}
