package resolver

import (
	"bytes"
	"context"
	"html"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Web pages and pointer files that stand where a file was expected: the
// confirmation page of a large Google Drive file (a form whose action,
// asked with its hidden inputs, returns the file), and the Git LFS pointer
// text a raw GitHub link returns for a file kept in LFS.

// maxPage bounds how much of a web page is read to look for a form.
const maxPage = 512 << 10

// readPage GETs raw (following redirects, hdr kept to scopeHost) and
// returns up to maxPage bytes of its body.
func (r *Resolver) readPage(ctx context.Context, raw string, hdr http.Header,
	scopeHost string) ([]byte, error) {
	u, err := url.Parse(raw)
	if err != nil {
		u = &url.URL{} // on no host: no headers; send reports the bad URL, redacted
	}
	ctx, h := scopedRequest(ctx, u, hdr, scopeHost)
	resp, err := r.send(ctx, r.follow, http.MethodGet, raw, h)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(io.LimitReader(resp.Body, maxPage))
}

// confirmURL finds, in an HTML page, the link that confirms a download:
// a form with a hidden "confirm" input (or id "download-form"), asked with
// all its hidden inputs, or a link whose query carries confirm=. It
// returns "" when the page offers none. Relative targets resolve against
// base.
func confirmURL(page []byte, base *url.URL) string {
	lower := asciiLower(page)
	for off := 0; ; {
		i := bytes.Index(lower[off:], []byte("<form"))
		if i < 0 {
			break
		}
		start := off + i
		end := bytes.Index(lower[start:], []byte("</form"))
		if end < 0 {
			end = len(page) - start
		}
		form := page[start : start+end]
		off = start + 5
		attrs := tagAttrs(form)
		q := url.Values{}
		for _, in := range tags(form, "input") {
			if strings.EqualFold(in["type"], "hidden") && in["name"] != "" {
				q.Add(in["name"], in["value"])
			}
		}
		if q.Get("confirm") == "" && attrs["id"] != "download-form" {
			continue
		}
		action, err := base.Parse(cmpOr(attrs["action"], base.String()))
		if err != nil {
			continue
		}
		merged := action.Query()
		for k, vs := range q {
			merged[k] = vs
		}
		action.RawQuery = merged.Encode()
		return action.String()
	}
	for _, a := range tags(page, "a") {
		href := a["href"]
		if !strings.Contains(href, "confirm=") {
			continue
		}
		if u, err := base.Parse(href); err == nil {
			return u.String()
		}
	}
	return ""
}

// tags returns the attributes of every <name ...> tag in page.
func tags(page []byte, name string) []map[string]string {
	var out []map[string]string
	lower := asciiLower(page)
	open := []byte("<" + name)
	for off := 0; ; {
		i := bytes.Index(lower[off:], open)
		if i < 0 {
			return out
		}
		start := off + i
		off = start + len(open)
		if off < len(page) && !isSpace(page[off]) && page[off] != '>' && page[off] != '/' {
			continue // a longer tag name
		}
		out = append(out, tagAttrs(page[start:]))
	}
}

// tagAttrs parses the attributes of the tag page starts with, up to '>'.
// Names are lowercased; values are HTML-unescaped.
func tagAttrs(page []byte) map[string]string {
	attrs := map[string]string{}
	i := 1 // past '<' and the tag name
	for i < len(page) && !isSpace(page[i]) && page[i] != '>' {
		i++
	}
	for i < len(page) && page[i] != '>' {
		for i < len(page) && (isSpace(page[i]) || page[i] == '/') {
			i++
		}
		start := i
		for i < len(page) && !isSpace(page[i]) && page[i] != '=' && page[i] != '>' {
			i++
		}
		name := strings.ToLower(string(page[start:i]))
		if i >= len(page) || page[i] != '=' {
			if name != "" {
				attrs[name] = ""
			}
			if i < len(page) && page[i] != '>' && start == i {
				i++
			}
			continue
		}
		i++
		var val []byte
		if i < len(page) && (page[i] == '"' || page[i] == '\'') {
			q := page[i]
			j := bytes.IndexByte(page[i+1:], q)
			if j < 0 {
				return attrs
			}
			val, i = page[i+1:i+1+j], i+2+j
		} else {
			start := i
			for i < len(page) && !isSpace(page[i]) && page[i] != '>' {
				i++
			}
			val = page[start:i]
		}
		if name != "" {
			if _, dup := attrs[name]; !dup {
				attrs[name] = html.UnescapeString(string(val))
			}
		}
	}
	return attrs
}

// asciiLower lowercases ASCII letters only, so that offsets into the
// result are offsets into b (bytes.ToLower may change lengths).
func asciiLower(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

// pageVerdict reads a web page that came instead of a file and says why,
// for the message: a quota page, a sign-in page, or just a page.
func pageVerdict(page []byte, final *url.URL) string {
	text := strings.ToLower(string(page))
	switch {
	case strings.Contains(text, "quota exceeded") ||
		strings.Contains(text, "too many users have viewed or downloaded"):
		return "the host says the file's download quota is exceeded"
	case final != nil && strings.HasPrefix(strings.ToLower(final.Hostname()), "accounts."),
		strings.Contains(text, "sign in") || strings.Contains(text, "log in"):
		return "the host asks to sign in; the link is not public"
	}
	return ""
}

// lfsPointer reads a Git LFS pointer text: the real file's sha256 and
// size. ok is false for anything else.
func lfsPointer(b []byte) (sha string, size int64, ok bool) {
	if !bytes.HasPrefix(b, []byte("version https://git-lfs.github.com/spec/")) {
		return "", 0, false
	}
	size = -1
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch k {
		case "oid":
			if s, found := strings.CutPrefix(v, "sha256:"); found && isHex64(s) {
				sha = strings.ToLower(s)
			}
		case "size":
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				size = n
			}
		}
	}
	return sha, size, sha != "" && size >= 0
}

// githubMedia returns the media.githubusercontent.com URL that serves the
// LFS content of a raw.githubusercontent.com/o/r/ref/path link (on the
// real host or a loopback mirror of it), or "".
func githubMedia(u *url.URL) string {
	if base, inner, ok := unmirror(u); ok {
		iu, err := url.Parse(inner)
		if m := githubMedia(iu); err == nil && m != "" {
			return remirror(base, m)
		}
		return ""
	}
	if !strings.EqualFold(u.Hostname(), "raw.githubusercontent.com") {
		return ""
	}
	p := strings.TrimPrefix(u.EscapedPath(), "/")
	if strings.Count(p, "/") < 3 {
		return ""
	}
	return "https://media.githubusercontent.com/media/" + p
}

// headerNames lists the names in h.
func headerNames(h http.Header) []string {
	var names []string
	for k := range h {
		names = append(names, k)
	}
	return names
}
