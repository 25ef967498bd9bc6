// Package netx holds the small HTTP helpers every stage shares: URL and
// error redaction so secrets never reach a message, and header scoping so a
// header written for one host is never sent to another.
package netx

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Redact returns raw without its query string, fragment and user info, so that
// signed URLs and tokens passed as ?token= never reach a log line or an error.
// A URL that does not parse is reduced to its scheme and host when possible.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.IndexAny(raw, "?#"); i >= 0 {
			return raw[:i] + "?…"
		}
		return raw
	}
	hadQuery := u.RawQuery != "" || u.ForceQuery
	u.User = nil
	u.RawQuery = ""
	u.ForceQuery = false
	u.Fragment = ""
	u.RawFragment = ""
	s := u.String()
	if hadQuery {
		s += "?…"
	}
	return s
}

// RedactError rewrites the URLs that net/http puts into *url.Error values so
// that err can be shown to a user. Other errors are returned unchanged.
func RedactError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: Redact(ue.URL), Err: ue.Err}
	}
	return err
}

type scopeKey struct{}

// Scoped attaches to ctx the header names that were written for host only.
// A client built with CheckRedirect from this package removes them from any
// redirected request to another host.
func Scoped(ctx context.Context, host string, names []string) context.Context {
	return context.WithValue(ctx, scopeKey{}, scope{host: host, names: names})
}

type scope struct {
	host  string
	names []string
}

// CheckRedirect is an http.Client CheckRedirect function that follows up to
// ten redirects and drops scoped headers (see Scoped) and Authorization when
// the redirect leaves the host they were meant for.
func CheckRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	first := via[0].URL.Host
	sc, _ := req.Context().Value(scopeKey{}).(scope)
	if sc.host != "" {
		first = sc.host
	}
	if !strings.EqualFold(req.URL.Host, first) {
		req.Header.Del("Authorization")
		req.Header.Del("Cookie")
		for _, n := range sc.names {
			req.Header.Del(n)
		}
	}
	return nil
}

// NoRedirect is an http.Client CheckRedirect function that returns the
// redirect response itself, for callers that read Location and headers.
func NoRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// RetryAfter reads a Retry-After header value, given as delay seconds or
// as an HTTP date, relative to now. ok is false when v is absent or
// malformed; a date in the past is a zero delay. Absurd delays are capped
// at about twelve days, so callers only need their own, tighter bound.
func RetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
		return time.Duration(min(n, 1<<20)) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// Sleep waits for d or until ctx ends, returning ctx's error in that case.
// A d of zero or less returns at once (with ctx's error, if any).
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
