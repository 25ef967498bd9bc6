package engine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"provision/internal/span"
)

// Sentinel errors. Fetch wraps them in a *FetchError; test with errors.Is.
var (
	// ErrRangeIgnored: the server answered a Range request with the whole
	// body (200) and the file could not be fetched as one stream from byte 0.
	ErrRangeIgnored = errors.New("server ignores range requests")

	// ErrContentRange: a 206 answer's Content-Range or Content-Length is not
	// the range that was asked for. Retryable.
	ErrContentRange = errors.New("content-range does not match the request")

	// ErrRemoteChanged: the file on the server is not the one the bytes on
	// disk came from (412 to Job.IfMatch, or a new ETag mid-download); it
	// must be fetched again from scratch. ErrSizeChanged is one case of it.
	ErrRemoteChanged = errors.New("remote file changed")

	// ErrSizeChanged: the server reports a total size other than Job.Size.
	// errors.Is(ErrSizeChanged, ErrRemoteChanged) holds.
	ErrSizeChanged error = &kindError{"remote size differs from the expected size",
		ErrRemoteChanged}

	// ErrWebPage: the body is an HTML, JSON or XML document although the
	// file's name says it is not one (a login wall or an error page).
	ErrWebPage = errors.New("server sent a web page instead of the file")

	// ErrEncoded: the body came with a Content-Encoding (gzip, br...) that
	// would have to be undone, although identity was asked for and the
	// file's name does not say it is such a file.
	ErrEncoded = errors.New("server compressed the body")

	// ErrIdleTimeout: no byte arrived for Config.IdleTimeout. Retryable.
	ErrIdleTimeout = errors.New("no data received within the idle timeout")

	// ErrRefreshLimit: the URL was refused (403/410) again after the
	// maximum number of refreshes.
	ErrRefreshLimit = errors.New("url still refused after refreshing it")
)

// kindError is a sentinel that is also a case of a broader one.
type kindError struct {
	msg    string
	parent error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.parent }

// FetchError is what Fetch returns: the file, the byte range being fetched
// (empty when the error concerns the whole file) and the cause.
type FetchError struct {
	Name  string
	Range span.Range
	Err   error
}

// Error formats as "fetch NAME bytes A-B: cause".
func (e *FetchError) Error() string {
	if e.Range.Len() == 0 {
		return fmt.Sprintf("fetch %s: %v", e.Name, e.Err)
	}
	return fmt.Sprintf("fetch %s bytes %s: %v", e.Name, e.Range, e.Err)
}

// Unwrap returns the cause.
func (e *FetchError) Unwrap() error { return e.Err }

// HTTPError is an answer with a status the engine does not take as data.
// URL is already redacted (no query string or user info).
type HTTPError struct {
	Status     int
	URL        string
	RetryAfter time.Duration // from a Retry-After header on 429/503; 0 when absent
}

// Error formats as "status 503 Service Unavailable from https://host/path".
func (e *HTTPError) Error() string {
	return fmt.Sprintf("status %d %s from %s", e.Status, http.StatusText(e.Status), e.URL)
}

// ShortBodyError reports a body that ended before the bytes it promised.
// Expected and Received count the bytes of the range being fetched; after
// retries ran out they count the whole chunk.
type ShortBodyError struct {
	Expected, Received int64
	Err                error // the read error, io.ErrUnexpectedEOF when the body just ended
}

// Error formats as "body ended early: received R of E bytes: cause"; E is
// -1 and left out for a stream of unknown length.
func (e *ShortBodyError) Error() string {
	if e.Expected < 0 {
		return fmt.Sprintf("body ended early after %d bytes: %v", e.Received, e.Err)
	}
	return fmt.Sprintf("body ended early: received %d of %d bytes: %v",
		e.Received, e.Expected, e.Err)
}

// Unwrap returns the read error.
func (e *ShortBodyError) Unwrap() error { return e.Err }

// netError marks an error from the transport (dial, TLS, reading the body):
// the connection failed, not the file.
type netError struct{ err error }

func (e *netError) Error() string { return e.err.Error() }
func (e *netError) Unwrap() error { return e.err }

// Retryable reports whether a fetch that failed with err may succeed when
// asked again: transport failures, idle timeouts, short bodies, a wrong
// Content-Range, and the statuses 408, 416, 425, 429 and 5xx. Cancellation,
// write errors, web pages, size changes and other 4xx answers are final.
// 403 and 410 are final here; Fetch refreshes the URL for them first when
// the Job can refresh.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) ||
		errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var he *HTTPError
	if errors.As(err, &he) {
		switch he.Status {
		case http.StatusRequestTimeout, http.StatusRequestedRangeNotSatisfiable,
			http.StatusTooEarly, http.StatusTooManyRequests:
			return true
		}
		return he.Status >= 500
	}
	if errors.Is(err, ErrIdleTimeout) || errors.Is(err, ErrContentRange) {
		return true
	}
	var sb *ShortBodyError
	var ne *netError
	return errors.As(err, &sb) || errors.As(err, &ne)
}
