package engine

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"provision/internal/netx"
)

// attempt sends one request for what p still lacks and streams the answer
// into the output. It returns nil when p is complete or was stopped.
func (js *jobState) attempt(ctx context.Context, p *piece) error {
	e := js.e
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	js.mu.Lock()
	from, to, stream := p.pos, p.end, p.stream
	rawURL, hdr := js.url, js.header
	p.gen, p.cancel = js.gen, cancel
	size := js.size
	js.mu.Unlock()
	if from >= to {
		return nil
	}

	// A whole file or a stream from byte 0 is asked without Range.
	ranged := from > 0 || (!stream && to != size)
	req, err := js.newRequest(rctx, rawURL, hdr)
	if err != nil {
		return err
	}
	switch {
	case ranged && to == unknownEnd:
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", from))
	case ranged:
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", from, to-1))
	}

	wd := newWatchdog(e.cfg.IdleTimeout, cancel)
	defer wd.stop()
	e.requests.Add(1)
	js.requests.Add(1)
	e.active.Add(1)
	defer e.active.Add(-1)
	if pr := js.j.Progress; pr != nil {
		pr.conns.Add(1)
		defer pr.conns.Add(-1)
	}

	resp, err := e.client.Do(req)
	if err != nil {
		return js.readErr(ctx, p, wd, &netError{netx.RedactError(err)})
	}
	defer resp.Body.Close()

	at, end, err := js.check(resp, p, from, to, ranged)
	if err != nil {
		// A short error body is read so the connection can be reused.
		_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
		return err
	}
	if end < 0 {
		return nil // p stopped: the job switched to one stream
	}
	return js.copyBody(rctx, ctx, p, resp.Body, at, end, wd)
}

// newRequest builds a GET for rawURL with the job's headers, scoped so that
// a redirect to another host drops them.
func (js *jobState) newRequest(ctx context.Context, rawURL string,
	hdr http.Header) (*http.Request, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("bad url %s", netx.Redact(rawURL))
	}
	names := make([]string, 0, len(hdr))
	for k := range hdr {
		names = append(names, k)
	}
	ctx = netx.Scoped(ctx, u.Host, names)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("bad url %s", netx.Redact(rawURL))
	}
	req.Header = hdr.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.Header.Set("User-Agent", js.e.cfg.UserAgent)
	req.Header.Set("Accept-Encoding", "identity")
	if js.j.IfMatch != "" {
		req.Header.Set("If-Match", js.j.IfMatch)
	}
	return req, nil
}

// check validates resp before a byte of it is written. It returns the file
// offset of the body's first byte and the offset where the body ends
// (unknownEnd when the stream's length is unknown), or end -1 when p was
// stopped because the job switched to one stream.
func (js *jobState) check(resp *http.Response, p *piece, from, to int64,
	ranged bool) (at, end int64, err error) {
	js.mu.Lock()
	size := js.size
	js.mu.Unlock()

	switch resp.StatusCode {
	case http.StatusPartialContent:
		if !ranged {
			return 0, 0, fmt.Errorf("%w: 206 to a request without range", ErrContentRange)
		}
		a, b, total, err := parseContentRange(resp.Header.Get("Content-Range"))
		switch {
		case err != nil:
			return 0, 0, err
		case js.j.Size >= 0 && total >= 0 && total != size:
			return 0, 0, fmt.Errorf("%w: server says %d bytes, expected %d",
				ErrSizeChanged, total, size)
		case a != from || (to != unknownEnd && b != to-1) || b < a:
			return 0, 0, fmt.Errorf("%w: asked %d-%d, got %d-%d", ErrContentRange,
				from, to-1, a, b)
		case resp.ContentLength >= 0 && resp.ContentLength != b-a+1:
			return 0, 0, fmt.Errorf("%w: content-length %d for %d-%d", ErrContentRange,
				resp.ContentLength, a, b)
		}
		if err := js.checkType(resp); err != nil {
			return 0, 0, err
		}
		if err := js.checkETag(resp); err != nil {
			return 0, 0, err
		}
		if js.j.Size < 0 && total >= 0 {
			js.setSize(total)
		}
		return from, b + 1, nil

	case http.StatusOK:
		if err := js.checkType(resp); err != nil {
			return 0, 0, err
		}
		if err := js.checkETag(resp); err != nil {
			return 0, 0, err
		}
		if resp.ContentLength == 0 && js.j.Size > 0 {
			// An empty 200 is a failed answer, not a file that shrank to nothing.
			return 0, 0, &ShortBodyError{Expected: to - from, Received: 0,
				Err: io.ErrUnexpectedEOF}
		}
		if js.j.Size >= 0 && resp.ContentLength >= 0 && resp.ContentLength != size {
			return 0, 0, fmt.Errorf("%w: server sends %d bytes, expected %d",
				ErrSizeChanged, resp.ContentLength, size)
		}
		if js.j.Size < 0 {
			// A stream of unknown size: a 200 (even to a resumed request)
			// starts again from byte 0.
			end := int64(unknownEnd)
			if resp.ContentLength >= 0 {
				end = resp.ContentLength
			}
			js.mu.Lock()
			p.pos = 0
			js.mu.Unlock()
			if pr := js.j.Progress; pr != nil {
				pr.size.Store(resp.ContentLength)
				pr.done.Store(0)
			}
			return 0, end, nil
		}
		end := size
		if !ranged {
			return 0, end, nil
		}
		// The server ignores Range: only an answer meant to start at byte 0
		// may be written, and the job continues as that one stream.
		js.goRangeless(p, from == 0)
		if from != 0 {
			return 0, -1, nil
		}
		return 0, end, nil
	}

	if resp.StatusCode == http.StatusPreconditionFailed && js.j.IfMatch != "" {
		return 0, 0, fmt.Errorf("%w: 412 to if-match %s", ErrRemoteChanged, js.j.IfMatch)
	}
	he := &HTTPError{Status: resp.StatusCode, URL: netx.Redact(resp.Request.URL.String())}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		he.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	case http.StatusRequestedRangeNotSatisfiable:
		if _, _, total, err := parseContentRange(resp.Header.Get("Content-Range")); err == nil &&
			js.j.Size >= 0 && total >= 0 && total != size {
			return 0, 0, fmt.Errorf("%w: server says %d bytes, expected %d",
				ErrSizeChanged, total, size)
		}
	}
	return 0, 0, he
}

// checkETag refuses an answer whose strong ETag differs from the one the
// job's earlier answers (or Job.IfMatch) carried: the file changed under
// the download. Weak and missing ETags are not compared.
func (js *jobState) checkETag(resp *http.Response) error {
	et := resp.Header.Get("ETag")
	if et == "" || strings.HasPrefix(et, "W/") {
		return nil
	}
	js.mu.Lock()
	defer js.mu.Unlock()
	switch {
	case js.etag == "":
		js.etag = et
	case js.etag != et:
		return fmt.Errorf("%w: etag %s, earlier %s", ErrRemoteChanged, et, js.etag)
	}
	return nil
}

// setSize records the size a stream of unknown size turned out to have.
func (js *jobState) setSize(n int64) {
	js.mu.Lock()
	js.size = n
	js.mu.Unlock()
	if pr := js.j.Progress; pr != nil {
		pr.size.Store(n)
	}
}

// webTypes are the media types of error and login pages, with the file
// extensions for which they are the file itself.
var webTypes = map[string][]string{
	"text/html":        {".html", ".htm"},
	"application/json": {".json"},
	"text/xml":         {".xml"},
	"application/xml":  {".xml"},
}

// encodedExts are the content codings a server may put on a file that is
// itself compressed (a .tar.gz served with Content-Encoding: gzip), with
// the file extensions for which the bytes on the wire are the file.
var encodedExts = map[string][]string{
	"gzip":   {".gz", ".tgz"},
	"x-gzip": {".gz", ".tgz"},
	"br":     {".br"},
	"zstd":   {".zst"},
}

// checkType refuses a body whose Content-Type says it is a web page or an
// API answer, or whose Content-Encoding would change its bytes, unless the
// job's own name says that is what the file is.
func (js *jobState) checkType(resp *http.Response) error {
	ext := strings.ToLower(path.Ext(js.j.Name))
	if ce := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))); ce != "" &&
		ce != "identity" && !slices.Contains(encodedExts[ce], ext) {
		return fmt.Errorf("%w (content-encoding %s)", ErrEncoded, ce)
	}
	ct := resp.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return nil
	}
	exts, web := webTypes[strings.ToLower(mt)]
	if !web {
		return nil
	}
	if slices.Contains(exts, ext) {
		return nil
	}
	return fmt.Errorf("%w (status %d, content-type %s)", ErrWebPage, resp.StatusCode, mt)
}

// parseContentRange parses "bytes a-b/total" and "bytes */total"; total is
// -1 for "*", and a, b are -1 for the unsatisfied form.
func parseContentRange(v string) (a, b, total int64, err error) {
	bad := fmt.Errorf("%w: bad content-range %q", ErrContentRange, v)
	rest, ok := strings.CutPrefix(strings.TrimSpace(v), "bytes ")
	if !ok {
		return 0, 0, 0, bad
	}
	rng, tot, ok := strings.Cut(strings.TrimSpace(rest), "/")
	if !ok {
		return 0, 0, 0, bad
	}
	total = -1
	if tot != "*" {
		if total, err = strconv.ParseInt(tot, 10, 64); err != nil || total < 0 {
			return 0, 0, 0, bad
		}
	}
	if rng == "*" {
		if total < 0 {
			return 0, 0, 0, bad
		}
		return -1, -1, total, nil
	}
	as, bs, ok := strings.Cut(rng, "-")
	if !ok {
		return 0, 0, 0, bad
	}
	a, errA := strconv.ParseInt(as, 10, 64)
	b, errB := strconv.ParseInt(bs, 10, 64)
	if errA != nil || errB != nil || a < 0 || b < a || (total >= 0 && b >= total) {
		return 0, 0, 0, bad
	}
	return a, b, total, nil
}
