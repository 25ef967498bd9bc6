package resolver

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"provision/internal/netx"
)

// Default endpoints, used when Config leaves them empty.
const (
	DefaultHFEndpoint      = "https://huggingface.co"
	DefaultCivitAIEndpoint = "https://civitai.com"
)

// Config configures a Resolver. The zero value is usable: public endpoints,
// no tokens, a default client.
type Config struct {
	HFEndpoint      string // HF_ENDPOINT; "" means DefaultHFEndpoint
	CivitAIEndpoint string // CIVITAI_ENDPOINT; "" means DefaultCivitAIEndpoint
	HFToken         string // HF_TOKEN, sent only to the hub host; trimmed by New
	CivitAIToken    string // CIVITAI_TOKEN, sent only to the CivitAI host; trimmed by New

	// Client does the requests; nil means a client with dial, TLS and
	// header timeouts. Its CheckRedirect is replaced: the resolver decides
	// per request whether redirects are followed.
	Client *http.Client

	// UserAgent is sent with every request; "" means "provision/1". It must
	// not look like a browser: CivitAI answers browsers with a login page.
	UserAgent string

	// Retries is how many times a 429 (or a 503 with Retry-After, or a
	// network error) is retried per request; 0 means 5, negative means none.
	Retries int
	// Backoff is the first wait when the server gives no Retry-After; it
	// doubles per attempt. 0 means one second.
	Backoff time.Duration
	// MaxWait bounds any single wait, Retry-After included; 0 means 60 s.
	MaxWait time.Duration
}

// Resolver turns manifest entries into Targets. It is safe for concurrent
// use and holds no state between calls besides its configuration.
type Resolver struct {
	cfg      Config
	hub      *url.URL // parsed HFEndpoint
	civ      *url.URL // parsed CivitAIEndpoint
	noFollow *http.Client
	follow   *http.Client

	// sleep waits for d or until ctx ends; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
}

// New returns a Resolver for cfg, filling in defaults and trimming tokens.
// An endpoint that does not parse is kept as given and every request to it
// fails with a message naming it.
func New(cfg Config) *Resolver {
	cfg.HFEndpoint = strings.TrimRight(strings.TrimSpace(cfg.HFEndpoint), "/")
	if cfg.HFEndpoint == "" {
		cfg.HFEndpoint = DefaultHFEndpoint
	}
	cfg.CivitAIEndpoint = strings.TrimRight(strings.TrimSpace(cfg.CivitAIEndpoint), "/")
	if cfg.CivitAIEndpoint == "" {
		cfg.CivitAIEndpoint = DefaultCivitAIEndpoint
	}
	cfg.HFToken = strings.TrimSpace(cfg.HFToken)
	cfg.CivitAIToken = strings.TrimSpace(cfg.CivitAIToken)
	if cfg.UserAgent == "" {
		cfg.UserAgent = "provision/1"
	}
	switch {
	case cfg.Retries == 0:
		cfg.Retries = 5
	case cfg.Retries < 0:
		cfg.Retries = 0
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = time.Second
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = time.Minute
	}
	base := cfg.Client
	if base == nil {
		base = defaultClient()
	}
	nf, f := *base, *base
	nf.CheckRedirect = netx.NoRedirect
	f.CheckRedirect = netx.CheckRedirect
	r := &Resolver{cfg: cfg, noFollow: &nf, follow: &f, sleep: netx.Sleep}
	r.hub, _ = url.Parse(cfg.HFEndpoint)
	r.civ, _ = url.Parse(cfg.CivitAIEndpoint)
	if r.hub == nil {
		r.hub = &url.URL{}
	}
	if r.civ == nil {
		r.civ = &url.URL{}
	}
	return r
}

// defaultClient bounds connecting and waiting for headers, not the body:
// resolvers read small bodies only.
func defaultClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	d := &net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}
	tr.DialContext = d.DialContext
	tr.TLSHandshakeTimeout = 15 * time.Second
	tr.ResponseHeaderTimeout = 60 * time.Second
	return &http.Client{Transport: tr, Timeout: 3 * time.Minute}
}

// Resolve returns the files entry e stands for: one Target for a single
// file, one per matching repo file for download_all. Every error is an
// *EntryError naming e.Key. A sha256 pinned in the manifest is kept on the
// Target and must agree with the one the source reports (ErrPinMismatch).
func (r *Resolver) Resolve(ctx context.Context, e *Entry) ([]*Target, error) {
	if err := r.Preflight(e); err != nil {
		return nil, err
	}
	var (
		ts  []*Target
		err error
	)
	switch e.Source {
	case HuggingFace:
		ts, err = r.resolveHF(ctx, e)
	case CivitAI:
		ts, err = r.resolveCivitAI(ctx, e, e)
	case URL:
		ts, err = r.resolveURL(ctx, e)
	default:
		return nil, entryErr(e, failf(ErrUnsupported, "unknown source %q", e.Source),
			`use source = "huggingface", "civitai" or "url"`)
	}
	if err != nil {
		return nil, err
	}
	if e.SHA256 != "" && len(ts) == 1 {
		pin := strings.ToLower(e.SHA256)
		t := ts[0]
		if t.SHA256 != "" && t.SHA256 != pin {
			return nil, entryErr(e, failf(ErrPinMismatch,
				"the manifest pins sha256 %s but the source reports %s", pin, t.SHA256),
				"update sha256 in the manifest or remove it")
		}
		t.SHA256 = pin
	}
	return ts, nil
}

// Preflight reports, without any network traffic, a failure that Resolve
// would surely hit: an environment variable the entry uses is not set
// (ErrEnvUnset), or a gated HuggingFace entry while no HF_TOKEN is set.
// It returns nil when nothing is known to be wrong.
func (r *Resolver) Preflight(e *Entry) error {
	if e.Unset != nil {
		return e.Unset.entryError(e)
	}
	if e.Source == HuggingFace && e.Gated && r.cfg.HFToken == "" {
		return r.gatedNoToken(e, e.Repo)
	}
	return nil
}

// TokenVar names the environment variable whose token entry e's source
// uses ("HF_TOKEN", "CIVITAI_TOKEN"), or "" for plain URLs.
func TokenVar(e *Entry) string {
	switch e.Source {
	case HuggingFace:
		return "HF_TOKEN"
	case CivitAI:
		return "CIVITAI_TOKEN"
	}
	return ""
}

// send makes one request, retrying 429 answers (and 503 with Retry-After,
// and network errors) up to cfg.Retries times. Each wait honours
// Retry-After, bounded by MaxWait; without it the wait doubles from
// Backoff, with jitter. The last answer is returned as is, so a 429 that
// outlived the retries reaches the caller's error mapping. Network errors
// come back redacted.
func (r *Resolver) send(ctx context.Context, c *http.Client, method, rawURL string,
	h http.Header) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, rawURL, nil)
		if err != nil {
			return nil, netx.RedactError(err)
		}
		for k, vs := range h {
			req.Header[k] = append([]string(nil), vs...)
		}
		req.Header.Set("User-Agent", r.cfg.UserAgent)
		resp, err := c.Do(req)
		last := attempt >= r.cfg.Retries
		if err != nil {
			if ctx.Err() != nil || last {
				return nil, netx.RedactError(err)
			}
			if err := r.sleep(ctx, r.backoff(attempt)); err != nil {
				return nil, err
			}
			continue
		}
		ra, hasRA := netx.RetryAfter(resp.Header.Get("Retry-After"), time.Now())
		retry := resp.StatusCode == http.StatusTooManyRequests ||
			(resp.StatusCode == http.StatusServiceUnavailable && hasRA)
		if !retry || last {
			return resp, nil
		}
		discard(resp)
		wait := r.backoff(attempt)
		if hasRA {
			wait = min(ra, r.cfg.MaxWait)
		}
		if err := r.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// backoff is the wait before retry attempt+1 when the server named none.
func (r *Resolver) backoff(attempt int) time.Duration {
	d := r.cfg.Backoff << min(attempt, 10)
	d += time.Duration(rand.Int64N(int64(d)/4 + 1))
	return min(d, r.cfg.MaxWait)
}

// discard drains a little of a body, so the connection can be reused, and
// closes it.
func discard(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}

// readSmall reads at most 64 KiB of a body and closes it.
func readSmall(resp *http.Response) []byte {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	return b
}

// isRedirect reports whether status carries a Location to follow.
func isRedirect(status int) bool {
	switch status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// onHost reports whether u is on host (host[:port], case-insensitive).
func onHost(u *url.URL, host string) bool {
	return u != nil && host != "" && strings.EqualFold(u.Host, host)
}

// notAFile reports whether an answer of content type ct cannot be the file
// called name: a web page or a JSON document, unless the name says the file
// is one. An HTML login page saved as a model is exactly what this stops.
func notAFile(name, ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	ext := strings.ToLower(path.Ext(name))
	switch {
	case mt == "text/html" || mt == "application/xhtml+xml":
		return ext != ".html" && ext != ".htm"
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		return ext != ".json" && ext != ".jsonl"
	}
	return false
}

// isHex64 reports whether s is a lowercase or uppercase 64-digit hex string.
func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// escapePath percent-escapes each element of a slash path, keeping '/'.
func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// contextErr returns the context error err stands for, or nil.
func contextErr(err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return context.DeadlineExceeded
	}
	return nil
}

// document names an answer of content type ct for messages: "a text/html
// document", "an application/json document".
func document(ct string) string {
	mt := mediaType(ct)
	if strings.ContainsRune("aeiou", rune(mt[0])) {
		return "an " + mt + " document"
	}
	return "a " + mt + " document"
}

// mediaType is a Content-Type's media type for messages, or "untyped".
func mediaType(ct string) string {
	if mt, _, err := mime.ParseMediaType(ct); err == nil {
		return mt
	}
	return "untyped"
}
