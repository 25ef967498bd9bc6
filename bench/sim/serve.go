package sim

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// modTime is the Last-Modified of every served file.
var modTime = time.Date(2024, 8, 1, 12, 0, 0, 0, time.UTC)

var bufPool = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// serveBlob answers r with the bytes of fs: HEAD and GET, one Range (206
// with Content-Range, 416 "bytes */size" past the end, 200 for no, several
// or malformed ranges), If-Range (a Range under a stale ETag or date gets
// the whole file) and If-Match (412 when stale), under the file's faults.
// header, when set, adds host-specific headers (Content-Disposition,
// X-Repo-Commit, another ETag...).
func (s *Sim) serveBlob(w http.ResponseWriter, r *http.Request, fs *fileState,
	header func(http.Header)) {
	b := fs.blob()
	s.noteFile(recOf(r.Context()), b.seed, r.Header.Get("Range"))
	f := fs.current()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if !s.sleep(r.Context(), f.Latency) {
		return
	}
	size := b.size
	hdr := http.Header{}
	if header != nil {
		header(hdr)
	}
	if hdr.Get("ETag") == "" {
		hdr.Set("ETag", storageETag(b))
	}
	rangeHdr := r.Header.Get("Range")
	get := r.Method == http.MethodGet
	if !matches(r.Header.Get("If-Match"), hdr.Get("ETag")) {
		http.Error(w, "412 Precondition Failed", http.StatusPreconditionFailed)
		return
	}
	if ir := r.Header.Get("If-Range"); ir != "" && ir != hdr.Get("ETag") &&
		ir != modTime.Format(http.TimeFormat) {
		rangeHdr = ""
	}

	if rangeHdr != "" && get && f.ErrorOnRange > 0 && fs.nextRanged() == f.ErrorOnRange {
		errorPage(w, f.ErrorXML)
		return
	}
	start, end, partial, ok := parseRange(rangeHdr, size)
	if f.IgnoreRange {
		start, end, partial, ok = 0, size, false, true
	}
	h := w.Header()
	if !ok || (partial && get && f.Always416) ||
		(partial && start > 0 && get && f.Spurious416 && fs.takeOnce(&fs.spur)) {
		h.Set("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
		http.Error(w, "416 Requested Range Not Satisfiable",
			http.StatusRequestedRangeNotSatisfiable)
		return
	}

	for k, v := range hdr {
		h[k] = v
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/octet-stream")
	}
	h.Set("Accept-Ranges", "bytes")
	h.Set("Last-Modified", modTime.Format(http.TimeFormat))
	if get && f.EmptyOnce && fs.takeOnce(&fs.emptied) {
		h.Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
		return
	}
	length := end - start
	if !f.NoLength {
		h.Set("Content-Length", strconv.FormatInt(length, 10))
	}
	status := http.StatusOK
	if partial {
		h.Set("Content-Range", "bytes "+strconv.FormatInt(start, 10)+"-"+
			strconv.FormatInt(end-1, 10)+"/"+strconv.FormatInt(size, 10))
		status = http.StatusPartialContent
	}
	w.WriteHeader(status)
	if !get || length == 0 {
		return
	}

	// Decide the body's faults, then stream.
	limit, cut := length, false
	if f.ShortOnce && fs.takeShort(start, end) {
		limit, cut = length/2, true
	}
	stallAt := int64(-1)
	if f.StallAfter > 0 && fs.takeOnce(&fs.stalled) {
		stallAt = min(f.StallAfter, limit)
	}
	sent, dropped := s.stream(w, r, fs, b, f, start, limit, stallAt)
	s.noteSent(b.seed, start, sent)
	if dropped {
		killConn(w, r, f.DropReset)
	} else if cut {
		killConn(w, r, false)
	}
}

// stream writes limit bytes of fs from start, pausing forever at stallAt
// (≥ 0) and stopping at a DropEvery boundary. It returns the bytes written
// and whether a drop is due.
func (s *Sim) stream(w http.ResponseWriter, r *http.Request, fs *fileState, b blob,
	f Faults, start, limit, stallAt int64) (sent int64, drop bool) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	chunk := int64(len(buf))
	if rate := min0(f.ConnRate, s.cfg.TotalRate); rate > 0 {
		chunk = max(1<<10, min(64<<10, rate/50))
	}
	ci := connOf(r)
	ctx := r.Context()
	for sent < limit {
		n := min(chunk, limit-sent)
		if stallAt >= 0 && sent < stallAt {
			n = min(n, stallAt-sent)
		}
		n, drop = fs.reserve(n, f.DropEvery)
		if ci != nil && !ci.rate.wait(ctx, s.closing, int(n), f.ConnRate) {
			return sent, false
		}
		if !s.total.wait(ctx, s.closing, int(n), s.cfg.TotalRate) {
			return sent, false
		}
		b.readAt(buf[:n], start+sent)
		m, err := w.Write(buf[:n])
		sent += int64(m)
		if err != nil {
			return sent, false
		}
		if drop {
			return sent, true
		}
		if sent == stallAt {
			http.NewResponseController(w).Flush()
			s.sleep(ctx, 1<<62)
			return sent, false
		}
	}
	return sent, false
}

// matches reports whether an If-Match header value admits etag.
func matches(ifMatch, etag string) bool {
	if ifMatch == "" || strings.TrimSpace(ifMatch) == "*" {
		return true
	}
	for _, t := range strings.Split(ifMatch, ",") {
		if strings.TrimSpace(t) == etag {
			return true
		}
	}
	return false
}

// storageETag is the ETag a storage server gives b: a hash of its identity,
// not the sha256 of its content.
func storageETag(b blob) string {
	return `"` + fakeSHA1("storage " + b.seed + " " + strconv.FormatInt(b.size, 10))[:32] + `"`
}

// min0 returns the smaller positive of a and b, or 0 when neither is.
func min0(a, b int64) int64 {
	switch {
	case a <= 0:
		return b
	case b <= 0:
		return a
	}
	return min(a, b)
}

// killConn flushes what was written and closes the connection under the
// answer, with a TCP reset when reset is set.
func killConn(w http.ResponseWriter, r *http.Request, reset bool) {
	http.NewResponseController(w).Flush()
	ci := connOf(r)
	if ci == nil {
		return
	}
	if tc, ok := ci.conn.(*net.TCPConn); ok && reset {
		tc.SetLinger(0)
	}
	ci.conn.Close()
}

// errorPage answers 503 text/html, or 403 XML AccessDenied.
func errorPage(w http.ResponseWriter, xml bool) {
	if xml {
		xmlError(w, http.StatusForbidden, "AccessDenied", "Access Denied")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Retry-After", "1")
	w.WriteHeader(http.StatusServiceUnavailable)
	w.Write([]byte("<html><head><title>503 Service Temporarily Unavailable</title></head>" +
		"<body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>\n"))
}

// xmlError answers an S3/CloudFront style XML error.
func xmlError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<Error><Code>" + code +
		"</Code><Message>" + msg + "</Message></Error>\n"))
}

// parseRange interprets a Range header for a file of size bytes. It returns
// the half-open range to send, whether it is partial (206), and ok=false
// when the range is unsatisfiable (416). No, several or malformed ranges
// give the whole file, as HTTP allows.
func parseRange(h string, size int64) (start, end int64, partial, ok bool) {
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, size, false, true
	}
	a, b, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, size, false, true
	}
	if a == "" { // suffix: the last b bytes
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < 0 {
			return 0, size, false, true
		}
		if n == 0 || size == 0 {
			return 0, 0, false, false
		}
		return max(0, size-n), size, true, true
	}
	first, err := strconv.ParseInt(a, 10, 64)
	if err != nil || first < 0 {
		return 0, size, false, true
	}
	last := size - 1
	if b != "" {
		if last, err = strconv.ParseInt(b, 10, 64); err != nil || last < first {
			return 0, size, false, true
		}
	}
	if first >= size {
		return 0, 0, false, false
	}
	return first, min(last, size-1) + 1, true, true
}
