package engine

import (
	"math/rand/v2"
	"time"

	"provision/internal/netx"
)

// maxRetryAfter caps a server's Retry-After so a bogus value cannot park a
// chunk for hours; the retry still waits at least this long.
const maxRetryAfter = 5 * time.Minute

// DefaultBackoff is the delay before retry number attempt (1, 2, ...):
// 500 ms doubling per attempt up to 30 s, with full jitter over the upper
// half so that connections dropped together do not come back together.
func DefaultBackoff(attempt int) time.Duration {
	d := 500 * time.Millisecond
	for i := 1; i < attempt && d < 30*time.Second; i++ {
		d *= 2
	}
	d = min(d, 30*time.Second)
	return d/2 + rand.N(d/2+1)
}

// parseRetryAfter reads a Retry-After header given in seconds or as an HTTP
// date; it returns 0 when the header is absent, malformed or in the past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	d, _ := netx.RetryAfter(v, now)
	return min(d, maxRetryAfter)
}
