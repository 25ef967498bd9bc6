package sim

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Config sets up a Sim. The zero value serves DefaultCatalog on 127.0.0.1
// with the CDN on 127.0.0.2, without faults or limits.
type Config struct {
	Catalog *Catalog // nil means DefaultCatalog()

	// Host is the address the hub, CivitAI and plain file servers listen
	// on (default "127.0.0.1"); CDNHost the one of the signed CDN and
	// storage (default "127.0.0.2"). When CDNHost cannot be bound, the CDN
	// listens on Host and its URLs name it "localhost", so that it still is
	// another host name than the hub. Only loopback addresses are accepted.
	Host, CDNHost string

	// GzipText makes the hub's resolve-cache answer small text files
	// gzip-encoded and chunked when the request accepts gzip and has no
	// Range, as huggingface.co may.
	GzipText bool

	// TreePageSize is how many entries a tree API page holds (default 1000).
	TreePageSize int
	// URLLifetime is how long signed CDN and storage URLs stay valid
	// (default one hour; Faults.URLLifetime overrides it per file). Expiry
	// is checked to the second, as the Expires query parameter holds Unix
	// seconds.
	URLLifetime time.Duration

	// TotalRate caps the bytes per second of all file answers together;
	// 0 is unlimited.
	TotalRate int64
	// RequestRate caps the requests per second over all hosts together
	// (burst: one second's worth); requests above it answer 429 with
	// Retry-After: 1. 0 is unlimited.
	RequestRate float64
	// MaxConns caps the open TCP connections of each host; a request on a
	// connection beyond the cap answers 503 with Retry-After: 1 and closes
	// it. 0 is unlimited.
	MaxConns int

	// Faults is the default misbehaviour of every file (see SetFaults).
	Faults Faults

	// Now is the clock for signed URL expiry and early access; nil means
	// time.Now.
	Now func() time.Time
}

// Sim is a running simulator. Its methods are safe for concurrent use.
type Sim struct {
	// Base URLs, without a trailing slash.
	HubURL     string // plays https://huggingface.co: set HF_ENDPOINT to it
	CivitAIURL string // plays https://civitai.com: set CIVITAI_ENDPOINT to it
	FilesURL   string // plain files: FilesURL + "/" + PlainFile.Name
	CDNURL     string // signed CDN and storage, on another host name

	// Catalog is what the Sim serves, completed by Start. Read only.
	Catalog *Catalog

	cfg     Config
	now     func() time.Time
	secret  []byte
	servers []*http.Server
	closing chan struct{}
	once    sync.Once

	files []*fileState          // every served file, by id
	byKey map[string]*fileState // SetFaults keys
	repoF map[*RepoFile]*fileState
	civF  map[*CivitFile]*fileState
	plain map[string]*fileState // plain file name -> state

	reqs  bucket // RequestRate
	total bucket // TotalRate

	mu       sync.Mutex
	defaults Faults
	stats    statsData
}

// Start starts the simulator's servers on loopback and returns once they
// accept connections. Close stops them.
func Start(cfg Config) (*Sim, error) {
	if cfg.Catalog == nil {
		cfg.Catalog = DefaultCatalog()
	}
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	if cfg.CDNHost == "" {
		cfg.CDNHost = "127.0.0.2"
	}
	if cfg.TreePageSize <= 0 {
		cfg.TreePageSize = 1000
	}
	if cfg.URLLifetime <= 0 {
		cfg.URLLifetime = time.Hour
	}
	for _, h := range []string{cfg.Host, cfg.CDNHost} {
		if ip := net.ParseIP(h); ip == nil || !ip.IsLoopback() {
			return nil, fmt.Errorf("sim: start: %q is not a loopback address", h)
		}
	}
	if err := cfg.Catalog.complete(); err != nil {
		return nil, fmt.Errorf("sim: start: %w", err)
	}
	s := &Sim{
		Catalog:  cfg.Catalog,
		cfg:      cfg,
		now:      cfg.Now,
		secret:   make([]byte, 32),
		closing:  make(chan struct{}),
		defaults: cfg.Faults,
	}
	if s.now == nil {
		s.now = time.Now
	}
	rand.Read(s.secret)
	s.register()

	var err error
	if s.HubURL, err = s.serve(cfg.Host, http.HandlerFunc(s.hub)); err == nil {
		if s.CivitAIURL, err = s.serve(cfg.Host, http.HandlerFunc(s.civitai)); err == nil {
			if s.FilesURL, err = s.serve(cfg.Host, http.HandlerFunc(s.plainFiles)); err == nil {
				s.CDNURL, err = s.serveCDN()
			}
		}
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("sim: start: %w", err)
	}
	return s, nil
}

// Env returns the environment variables that point provision at the Sim:
// HF_ENDPOINT and CIVITAI_ENDPOINT.
func (s *Sim) Env() []string {
	return []string{"HF_ENDPOINT=" + s.HubURL, "CIVITAI_ENDPOINT=" + s.CivitAIURL}
}

// Close stops every server, cuts open connections and releases stalled
// answers. It is safe to call more than once.
func (s *Sim) Close() {
	s.once.Do(func() {
		close(s.closing)
		for _, srv := range s.servers {
			srv.Close()
		}
	})
}

// serveCDN listens on the CDN host, falling back to Host named "localhost".
func (s *Sim) serveCDN() (string, error) {
	u, err := s.serve(s.cfg.CDNHost, http.HandlerFunc(s.cdn))
	if err == nil {
		return u, nil
	}
	u, err2 := s.serve(s.cfg.Host, http.HandlerFunc(s.cdn))
	if err2 != nil {
		return "", errors.Join(err, err2)
	}
	_, port, _ := net.SplitHostPort(u[len("http://"):])
	return "http://localhost:" + port, nil
}

// serve starts one HTTP/1.1 server for h on host and returns its base URL.
func (s *Sim) serve(host string, h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", fmt.Errorf("listen on %s: %w", host, err)
	}
	var open atomic.Int64
	srv := &http.Server{
		Handler:           s.middleware(h),
		ReadHeaderTimeout: 10 * time.Second,
		// Cut connections are the point of some faults; nothing is logged.
		ErrorLog: log.New(io.Discard, "", 0),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			n := open.Add(1)
			ci := &connInfo{conn: c, over: s.cfg.MaxConns > 0 && n > int64(s.cfg.MaxConns)}
			return context.WithValue(ctx, connKey{}, ci)
		},
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateClosed || st == http.StateHijacked {
				open.Add(-1)
			}
		},
	}
	s.servers = append(s.servers, srv)
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), nil
}

// connInfo is the per-TCP-connection state a handler can reach.
type connInfo struct {
	conn net.Conn
	over bool   // beyond MaxConns
	rate bucket // Faults.ConnRate
}

type connKey struct{}

func connOf(r *http.Request) *connInfo {
	ci, _ := r.Context().Value(connKey{}).(*connInfo)
	return ci
}

// middleware records every request and applies the connection and request
// rate limits before h sees it.
func (s *Sim) middleware(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := &recWriter{ResponseWriter: w, rec: s.begin(r)}
		defer s.end(rw)
		if ci := connOf(r); ci != nil && ci.over {
			rw.Header().Set("Retry-After", "1")
			rw.Header().Set("Connection", "close")
			http.Error(rw, "503 Service Unavailable: too many connections",
				http.StatusServiceUnavailable)
			return
		}
		if s.cfg.RequestRate > 0 && !s.reqs.allow(s.cfg.RequestRate) {
			rw.Header().Set("Retry-After", "1")
			rw.Header().Set("RateLimit", `"api";r=0;t=1`)
			http.Error(rw, "429 Too Many Requests", http.StatusTooManyRequests)
			return
		}
		h.ServeHTTP(rw, r.WithContext(withRec(r.Context(), rw.rec)))
	})
}

// recWriter captures the status of an answer for the request log.
type recWriter struct {
	http.ResponseWriter
	rec    *reqRec
	status int
}

func (w *recWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *recWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// sleep waits d or until the request or the Sim ends; it reports whether
// the full time passed.
func (s *Sim) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-s.closing:
	}
	return false
}

// lifetime returns how long a signed URL to fs stays valid.
func (s *Sim) lifetime(fs *fileState) time.Duration {
	if f := fs.current(); f.URLLifetime > 0 {
		return f.URLLifetime
	}
	return s.cfg.URLLifetime
}

// Replace changes the content of the file named key (see SetFaults for the
// keys) as if it had been re-uploaded: its catalog entry gets the next Gen
// and the given size, so its seed, sha256 and ETags change, while its names
// and URLs (signed URLs already issued included) stay. It re-arms the
// file's once faults. Only hub, CivitAI and plain files without a Body can
// be replaced. Answers already streaming finish with the old bytes. Do not
// read the file's catalog entry concurrently with Replace.
func (s *Sim) Replace(key string, size int64) error {
	fs, ok := s.byKey[key]
	if !ok || fs.next == nil {
		return fmt.Errorf("sim: replace: no replaceable file %q", key)
	}
	s.mu.Lock() // serialises catalog writes with other Replace calls
	b := fs.next(size)
	s.mu.Unlock()
	fs.mu.Lock()
	fs.b = b
	fs.rearm()
	fs.mu.Unlock()
	return nil
}

// register creates the state of every file the catalog serves.
func (s *Sim) register() {
	s.byKey = map[string]*fileState{}
	s.repoF = map[*RepoFile]*fileState{}
	s.civF = map[*CivitFile]*fileState{}
	s.plain = map[string]*fileState{}
	add := func(b blob, name string, keys ...string) *fileState {
		fs := &fileState{id: len(s.files), b: b, name: name, faults: s.defaults}
		s.files = append(s.files, fs)
		for _, k := range append([]string{b.seed}, keys...) {
			if _, dup := s.byKey[k]; !dup {
				s.byKey[k] = fs
			}
		}
		return fs
	}
	for _, r := range s.Catalog.Repos {
		for _, f := range r.Files {
			fs := add(blobOf(f.Seed(), f.Size, f.Body), baseName(f.Path), r.ID+"/"+f.Path)
			if f.Body == nil {
				fs.next = func(size int64) blob {
					f.Gen, f.Size = f.Gen+1, size
					return blobOf(f.Seed(), size, nil)
				}
			}
			s.repoF[f] = fs
		}
	}
	for _, m := range s.Catalog.Models {
		for _, v := range m.Versions {
			for _, f := range v.Files {
				fs := add(blobOf(f.Seed(), f.Size, nil), f.Name,
					f.Name, "civitai:"+strconv.Itoa(f.ID))
				fs.next = func(size int64) blob {
					f.Gen, f.Size = f.Gen+1, size
					return blobOf(f.Seed(), size, nil)
				}
				switch f.Disposition {
				case "":
					fs.disp = `attachment; filename="` + f.Name + `"`
				case "-":
				default:
					fs.disp = f.Disposition
				}
				s.civF[f] = fs
			}
		}
	}
	for _, f := range s.Catalog.Files {
		fs := add(blobOf(f.Seed(), f.Size, f.Body), baseName(f.Name), f.Name)
		fs.disp = f.Disposition
		if f.Body == nil {
			fs.next = func(size int64) blob {
				f.Gen, f.Size = f.Gen+1, size
				return blobOf(f.Seed(), size, nil)
			}
		}
		s.plain[f.Name] = fs
	}
	for _, f := range s.Catalog.Drive {
		add(blobOf(f.Seed(), f.Size, f.Body), f.Name, "drive:"+f.ID)
	}
	for _, f := range s.Catalog.GitHub {
		add(blobOf(f.Seed(), f.Size, f.Body), baseName(f.Path),
			"github:"+f.Repo+"/"+f.Ref+"/"+f.Path)
	}
	for _, f := range s.Catalog.Dropbox {
		add(blobOf(f.Seed(), f.Size, f.Body), f.Name, "dropbox:"+f.ID)
	}
}

func baseName(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[i+1:]
		}
	}
	return p
}
