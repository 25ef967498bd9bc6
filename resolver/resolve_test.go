package resolver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Tokens the fake services know. None may ever appear in an error.
const (
	hfGood       = "hf_good_SECRET"
	hfUnapproved = "hf_unapproved_SECRET"
	hfBad        = "hf_bad_SECRET"
	civGood      = "civ_good_SECRET"
	civBad       = "civ_bad_SECRET"
	commitMain   = "0123456789abcdef0123456789abcdef01234567"
	commitPR     = "fedcba9876543210fedcba9876543210fedcba98"
)

var allSecrets = []string{hfGood, hfUnapproved, hfBad, civGood, civBad, "sig="}

// body is the deterministic content of a fake file.
func body(name string, size int64) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(int(name[i%len(name)]) + i*7)
	}
	return b
}

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// seen is one request a fake server received.
type seen struct {
	host, method, path, auth, ua string
	header                       http.Header
}

// recorder keeps the requests of a fake server; every fake may answer 429
// (Retry-After: 1) when limit says so for the nth request.
type recorder struct {
	mu    sync.Mutex
	reqs  []seen
	limit func(n int) bool
}

func (rc *recorder) wrap(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, seen{r.Host, r.Method, r.URL.EscapedPath(),
			r.Header.Get("Authorization"), r.Header.Get("User-Agent"), r.Header.Clone()})
		n := len(rc.reqs)
		limit := rc.limit
		rc.mu.Unlock()
		if limit != nil && limit(n) {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		h(w, r)
	})
}

func (rc *recorder) all() []seen {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]seen(nil), rc.reqs...)
}

func (rc *recorder) setLimit(f func(int) bool) {
	rc.mu.Lock()
	rc.limit = f
	rc.reqs = nil
	rc.mu.Unlock()
}

// cdn is a fake signed-URL store shared by the hub and CivitAI fakes: it
// serves registered blobs with Range support and, like S3, refuses any
// request that carries an Authorization header.
type cdn struct {
	recorder
	srv   *httptest.Server
	mu    sync.Mutex
	blobs map[string][]byte
	n     int
}

func newCDN(t *testing.T) *cdn {
	c := &cdn{blobs: map[string][]byte{}}
	c.srv = httptest.NewServer(c.wrap(c.serve))
	t.Cleanup(c.srv.Close)
	return c
}

// sign registers b and returns a fresh signed URL for it.
func (c *cdn) sign(key string, b []byte, disposition string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.blobs[key] = b
	c.n++
	q := url.Values{"sig": {strconv.Itoa(c.n)}}
	if disposition != "" {
		q.Set("rcd", disposition)
	}
	return c.srv.URL + "/blob/" + url.PathEscape(key) + "?" + q.Encode()
}

func (c *cdn) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "" {
		http.Error(w, "<Error>Only one auth mechanism allowed</Error>", http.StatusBadRequest)
		return
	}
	key, _ := url.PathUnescape(strings.TrimPrefix(r.URL.EscapedPath(), "/blob/"))
	c.mu.Lock()
	b, ok := c.blobs[key]
	c.mu.Unlock()
	if !ok || r.URL.Query().Get("sig") == "" {
		http.Error(w, "<Code>AccessDenied</Code>", http.StatusForbidden)
		return
	}
	if d := r.URL.Query().Get("rcd"); d != "" {
		w.Header().Set("Content-Disposition", d)
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, "", time.Time{}, strings.NewReader(string(b)))
}

// fetch downloads a target as the engine would (headers only to the
// target's host) and returns the bytes.
func fetch(t *testing.T, tg *Target) []byte {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, tg.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range tg.Header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("fetch %s: %d %s", tg.Rel, resp.StatusCode, b)
	}
	return b
}

// fakeSleep records the waits a resolver asked for instead of waiting.
type fakeSleep struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (f *fakeSleep) sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	f.waits = append(f.waits, d)
	f.mu.Unlock()
	return ctx.Err()
}

func (f *fakeSleep) all() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.waits...)
}

// newTestResolver returns a resolver whose waits are recorded, not slept.
func newTestResolver(cfg Config) (*Resolver, *fakeSleep) {
	r := New(cfg)
	fs := &fakeSleep{}
	r.sleep = fs.sleep
	return r, fs
}

// noSecrets fails when err's message holds a token or a signature.
func noSecrets(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for i, s := range allSecrets {
		if msg := err.Error(); strings.Contains(msg, s) {
			// Even a failing test prints no secret: mask it.
			t.Fatalf("error shows secret #%d: %s", i, strings.ReplaceAll(msg, s, "***"))
		}
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func TestSendBoundsRetryAfterAndGivesUp(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	r, fs := newTestResolver(Config{Retries: 3, MaxWait: 7 * time.Second})
	resp, err := r.send(context.Background(), r.noFollow, http.MethodGet, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || n.Load() != 4 {
		t.Fatalf("status %d after %d requests, want 429 after 4", resp.StatusCode, n.Load())
	}
	want := []time.Duration{7 * time.Second, 7 * time.Second, 7 * time.Second}
	if got := fs.all(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("waits %v, want %v", got, want)
	}
}

func TestEntryErrorReadsAsOneSentence(t *testing.T) {
	e := &Entry{Key: "models.lora.detail"}
	err := error(entryErr(e, failf(ErrAuthRequired, "CivitAI requires a login"),
		"set CIVITAI_TOKEN"))
	want := "models.lora.detail: CivitAI requires a login; set CIVITAI_TOKEN"
	if err.Error() != want {
		t.Fatalf("got %q, want %q", err, want)
	}
	if !errors.Is(err, ErrAuthRequired) || errors.Is(err, ErrNotFound) {
		t.Fatal("kind not matched through EntryError")
	}
	if !errors.Is(ErrModelNotVersion, ErrNotFound) || !errors.Is(ErrFileNotFound, ErrNotFound) {
		t.Fatal("specific not-found kinds must match ErrNotFound")
	}
}

func TestUnknownSource(t *testing.T) {
	r := New(Config{})
	_, err := r.Resolve(context.Background(), &Entry{Key: "models.vae.x", Source: "ftp"})
	if !errors.Is(err, ErrUnsupported) || !strings.HasPrefix(err.Error(), "models.vae.x: ") {
		t.Fatalf("got %v", err)
	}
}

func TestNewTrimsTokensAndDefaults(t *testing.T) {
	r := New(Config{HFToken: "  tok\n", CivitAIToken: "\tc "})
	if r.cfg.HFToken != "tok" || r.cfg.CivitAIToken != "c" {
		t.Fatalf("tokens not trimmed: %q %q", r.cfg.HFToken, r.cfg.CivitAIToken)
	}
	if r.cfg.HFEndpoint != DefaultHFEndpoint || r.cfg.CivitAIEndpoint != DefaultCivitAIEndpoint {
		t.Fatal("default endpoints not set")
	}
	if strings.Contains(r.cfg.UserAgent, "Mozilla") {
		t.Fatal("user agent looks like a browser")
	}
}
