package engine

import (
	"math/rand/v2"
	"sync"
	"time"
)

// maxThrottled is how many 429/503 answers with a Retry-After one piece
// waits out before it fails; they do not count against Config.Retries.
const maxThrottled = 30

// gates holds back requests to hosts that asked for a pause (429 with
// Retry-After), so that the other connections do not keep hitting a host
// that already said it is busy. Safe for concurrent use.
type gates struct {
	mu    sync.Mutex
	until map[string]time.Time
}

// hold closes host for d from now (or keeps a later reopening).
func (g *gates) hold(host string, d time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.until == nil {
		g.until = map[string]time.Time{}
	}
	t := time.Now().Add(d)
	if t.After(g.until[host]) {
		g.until[host] = t
	}
}

// wait returns how long a request to host must wait, 0 when the host is
// open. A small random spread keeps the waiting connections from all
// arriving in the same instant.
func (g *gates) wait(host string) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	t, ok := g.until[host]
	if !ok {
		return 0
	}
	d := time.Until(t)
	if d <= 0 {
		delete(g.until, host)
		return 0
	}
	return d + rand.N(d/10+100*time.Millisecond)
}
