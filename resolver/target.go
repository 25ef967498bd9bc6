package resolver

import (
	"context"
	"net/http"
)

// Target is one file an entry resolves to: everything the store and the
// engine need, and nothing that names a service.
type Target struct {
	Entry *Entry

	// Rel is the file's path under the entry's category folder, slash
	// separated and already made safe (see internal/fname.Rel): a single name
	// for most entries, "<entry name>/<repo path>" for download_all.
	Rel string

	URL    string      // what the engine fetches: a signed URL after a redirect, or the URL itself
	Header http.Header // headers to send with URL, only ever to URL's host
	Size   int64       // exact size in bytes, or -1 when unknown
	SHA256 string      // lowercase hex when the source (or the manifest) knows it
	ETag   string      // a content identity for resume (commit, ETag); may be ""
	Origin string      // the first-hop URL, redacted: the journal's identity and what messages show

	// IfMatch is the strong ETag header, exactly as the server URL points
	// at sent it, when the resolver saw that server's own answer (URL
	// entries); the engine sends it as If-Match so a file replaced between
	// resolving and fetching (or between two runs) is never spliced. ""
	// when unknown or weak.
	IfMatch string

	refresh func(ctx context.Context) (string, http.Header, error)
}

// Refresh resolves the target again, for when its signed URL expired
// mid-download. It returns the new URL and headers; Size and SHA256 stay as
// first resolved. A target without a way to refresh returns its own URL.
func (t *Target) Refresh(ctx context.Context) (string, http.Header, error) {
	if t.refresh == nil {
		return t.URL, t.Header, nil
	}
	return t.refresh(ctx)
}
