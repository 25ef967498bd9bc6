package resolver

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
)

// RewriteLink returns the direct-download form of a page link that users
// copy from a browser, or raw unchanged when it is not one:
//
//   - HuggingFace …/owner/name/blob/rev/path (also datasets/ and spaces/)
//     becomes …/resolve/rev/path, on huggingface.co, hf.co and on the host
//     of hfEndpoint (the configured HF endpoint, e.g. a mirror or the
//     simulator; "" for none), keeping the query;
//   - GitHub github.com/o/r/blob/ref/path (or /raw/) becomes
//     raw.githubusercontent.com/o/r/ref/path, without query or fragment;
//   - Google Drive drive.google.com/file/d/ID/view, /open?id=ID and
//     /uc?id=ID become drive.google.com/uc?id=ID&export=download, keeping a
//     resourcekey;
//   - Dropbox share links (/s/, /scl/, /sh/) get dl=1 in place of dl=0,
//     keeping rlkey and the other parameters.
//
// The GitHub, Drive and Dropbox forms are also read on a loopback mirror
// that serves those hosts as http://127.0.0.1:port/<host>/<path> (the
// simulator in bench/sim does), and stay on it.
//
// Only http and https links are rewritten. RewriteLink does no I/O and is
// safe for concurrent use.
func RewriteLink(raw, hfEndpoint string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return raw
	}
	if base, inner, ok := unmirror(u); ok {
		if out := RewriteLink(inner, ""); out != inner {
			return remirror(base, out)
		}
		return raw
	}
	host := strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.")
	segs := strings.Split(strings.TrimPrefix(u.EscapedPath(), "/"), "/")

	switch {
	case host == "huggingface.co" || host == "hf.co" || sameHost(u, hfEndpoint):
		return hfBlob(u, segs, raw)
	case host == "github.com":
		if len(segs) >= 5 && (segs[2] == "blob" || segs[2] == "raw") && segs[4] != "" {
			return "https://raw.githubusercontent.com/" + segs[0] + "/" + segs[1] + "/" +
				strings.Join(segs[3:], "/")
		}
	case host == "drive.google.com":
		return driveLink(u, segs, raw)
	case host == "dropbox.com":
		if len(segs) >= 2 && (segs[0] == "s" || segs[0] == "scl" || segs[0] == "sh") {
			q := u.Query()
			if q.Get("raw") == "1" || q.Get("dl") == "1" {
				return raw
			}
			q.Set("dl", "1")
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return raw
}

// sameHost reports whether u is on the host of endpoint (port included).
func sameHost(u *url.URL, endpoint string) bool {
	if endpoint == "" {
		return false
	}
	e, err := url.Parse(endpoint)
	return err == nil && e.Host != "" && strings.EqualFold(e.Host, u.Host)
}

// hfBlob turns a HuggingFace /blob/ page into its /resolve/ download URL.
func hfBlob(u *url.URL, segs []string, raw string) string {
	at := 2 // owner, name, then "blob"
	if len(segs) > 0 && (segs[0] == "datasets" || segs[0] == "spaces") {
		at = 3
	}
	if len(segs) < at+3 || segs[at] != "blob" || segs[at+2] == "" {
		return raw
	}
	segs[at] = "resolve"
	return withPath(u, segs, raw)
}

// driveLink turns a Google Drive share or open link into the download one.
func driveLink(u *url.URL, segs []string, raw string) string {
	q := u.Query()
	var id string
	switch {
	case len(segs) >= 3 && segs[0] == "file" && segs[1] == "d" && segs[2] != "":
		id = segs[2]
	case len(segs) == 1 && (segs[0] == "open" || segs[0] == "uc") && q.Get("id") != "":
		id = q.Get("id")
	default:
		return raw
	}
	if segs[0] == "uc" && q.Get("export") == "download" {
		return raw
	}
	out := url.Values{"id": {id}, "export": {"download"}}
	if rk := q.Get("resourcekey"); rk != "" {
		out.Set("resourcekey", rk)
	}
	if segs[0] == "uc" { // keep what a uc link already carried (confirm, uuid)
		for k, v := range q {
			if _, ok := out[k]; !ok {
				out[k] = v
			}
		}
	}
	return "https://drive.google.com/uc?" + out.Encode()
}

// withPath returns u with its escaped path replaced by segs.
func withPath(u *url.URL, segs []string, raw string) string {
	escaped := "/" + strings.Join(segs, "/")
	p, err := url.PathUnescape(escaped)
	if err != nil {
		return raw
	}
	v := *u
	v.Path, v.RawPath = p, escaped
	return v.String()
}

// ParseRef reads one entry written as a single string, the way a bare
// string entry of a manifest is read: an http(s) URL (with ${VAR}
// expansion), "hf://owner/name/path/to/file" (also "hf://datasets/owner/
// name/..." and "owner/name@revision"), or "civitai://<version id>" (a
// civitai link with ?modelVersionId= works too). key names the entry in
// messages and category is any category spelling; getenv nil means
// os.Getenv. Problems come back as a *ValidationError; an unset variable
// is recorded in Entry.Unset instead, as ParseManifest does.
func ParseRef(key, category, ref string, getenv func(string) string) (*Entry, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	canon, ok := CanonicalCategory(category)
	if !ok {
		return nil, fmt.Errorf("parse %s: unknown category %q; valid categories: %s", key,
			category, strings.Join(categoryNames(), ", "))
	}
	p := &parser{getenv: getenv}
	e := &Entry{Key: key, Category: canon, Name: key}
	p.bareEntry(e, ref)
	if len(p.ps) > 0 {
		return nil, &ValidationError{Problems: p.ps}
	}
	return e, nil
}

// bareEntry reads an entry written as a plain string (see ParseRef).
func (p *parser) bareEntry(e *Entry, s string) {
	s = strings.TrimSpace(s)
	lower := strings.ToLower(s)
	switch {
	case strings.HasPrefix(lower, "hf://"):
		if err := readHFScheme(e, s[len("hf://"):]); err != nil {
			p.ps.add(e.Key, "", "%q %v", s, err)
		}
	case strings.HasPrefix(lower, "civitai://"):
		e.Source = CivitAI
		id, msg := versionID(s[len("civitai://"):])
		if msg != "" {
			p.ps.add(e.Key, "", "%s", msg)
		}
		e.VersionID = id
	default:
		e.Source = URL
		u, msg, unset := p.expand(s)
		if msg == "" && unset == nil {
			msg = checkURL(s, u)
		}
		if msg != "" {
			p.ps.add(e.Key, "", "%s", msg)
		}
		e.noteUnset("url", unset)
		e.URL = u
	}
}

// readHFScheme fills a HuggingFace entry from the part after "hf://".
func readHFScheme(e *Entry, ref string) error {
	e.Source, e.RepoType = HuggingFace, "model"
	parts := strings.Split(strings.Trim(ref, "/"), "/")
	if len(parts) > 0 && (parts[0] == "datasets" || parts[0] == "spaces") {
		e.RepoType = strings.TrimSuffix(parts[0], "s")
		parts = parts[1:]
	}
	if len(parts) < 3 {
		return errors.New("is not hf://owner/name/path/to/file")
	}
	name, rev, _ := strings.Cut(parts[1], "@")
	if rev, err := url.PathUnescape(rev); err == nil {
		e.Revision = rev
	}
	e.Repo = parts[0] + "/" + name
	e.File = strings.Join(parts[2:], "/")
	if msg := checkRepo(e.Repo); msg != "" {
		return errors.New("names no repo: " + msg)
	}
	if msg := checkRepoFile(e.File); msg != "" {
		return errors.New("names no file: " + msg)
	}
	return nil
}
