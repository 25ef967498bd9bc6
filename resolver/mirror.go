package resolver

import (
	"net"
	"net/url"
	"strings"
)

// A loopback mirror serves the hosts of the links users paste under
// http://127.0.0.1:port/<real host>/<path>, the way the simulator in
// bench/sim does. RewriteLink and the Git LFS pointer follow-up treat such
// a URL as the link on the real host and keep the result on the mirror, so
// the whole path from a pasted share link to the file's bytes can be run
// offline. Only loopback hosts are read this way: on any other host a path
// that starts with "github.com/" is just a path.

// mirrorHosts are the real hosts a loopback mirror may serve.
var mirrorHosts = map[string]bool{
	"drive.google.com":             true,
	"drive.usercontent.google.com": true,
	"github.com":                   true,
	"www.github.com":               true,
	"raw.githubusercontent.com":    true,
	"media.githubusercontent.com":  true,
	"dropbox.com":                  true,
	"www.dropbox.com":              true,
	"dl.dropboxusercontent.com":    true,
}

// unmirror splits a loopback mirror URL into the mirror's base
// ("http://127.0.0.1:8080/") and the link on the real host
// ("https://github.com/o/r/blob/main/x"). ok is false for any other URL.
func unmirror(u *url.URL) (base, inner string, ok bool) {
	if u == nil || !isLoopback(u.Hostname()) {
		return "", "", false
	}
	host, rest, _ := strings.Cut(strings.TrimPrefix(u.EscapedPath(), "/"), "/")
	if !mirrorHosts[strings.ToLower(host)] {
		return "", "", false
	}
	inner = "https://" + strings.ToLower(host) + "/" + rest
	if u.RawQuery != "" {
		inner += "?" + u.RawQuery
	}
	return u.Scheme + "://" + u.Host + "/", inner, true
}

// remirror puts a link on a real host back onto the mirror at base.
func remirror(base, link string) string {
	for _, p := range []string{"https://", "http://"} {
		if s, ok := strings.CutPrefix(link, p); ok {
			return base + s
		}
	}
	return link
}

// isLoopback reports whether host is localhost or a loopback address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
