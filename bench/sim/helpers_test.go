package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"
)

// start starts a Sim for one test and closes it at the end.
func start(t *testing.T, cfg Config) *Sim {
	t.Helper()
	s, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// noFollow is a client that returns redirects instead of following them.
var noFollow = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Transport:     &http.Transport{DisableCompression: true},
}

// call sends one request and returns the answer with its whole body (or
// the bytes read before an error, and the error).
func call(t *testing.T, c *http.Client, method, u string, hdr map[string]string) (
	*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, redactQ(u), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// get is call for a GET that must read its body without error.
func get(t *testing.T, c *http.Client, u string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	resp, body, err := call(t, c, http.MethodGet, u, hdr)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", redactQ(u), err)
	}
	return resp, body
}

func redactQ(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "?"
	}
	p.RawQuery = ""
	return p.String()
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// blobRange returns bytes [off, off+n) of a blob.
func blobRange(b blob, off, n int64) []byte {
	p := make([]byte, n)
	b.readAt(p, off)
	return p
}

// clock is a settable time source for Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
