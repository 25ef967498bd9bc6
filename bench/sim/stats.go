package sim

import (
	"context"
	"net/http"
	"slices"

	"provision/internal/span"
)

// Request is one request the Sim received, as Stats reports it.
type Request struct {
	Kind   string      // see Stats.Requests for the kinds
	Host   string      // the Host header: which server it reached
	Method string      // GET, HEAD...
	Path   string      // the URL path, without the query (signed URLs stay secret)
	Header http.Header // the request headers as received (tokens included: never print them)
	Status int         // the answer's status; 0 while it is still running
	Seed   string      // the file whose bytes were asked for, or ""
}

// FileStats counts the answers carrying one file's bytes.
type FileStats struct {
	Requests int          // answers that reached the byte-serving code (any status)
	Bytes    int64        // body bytes written
	Ranges   []string     // the Range header of each such request in order, "" for none
	Sent     []span.Range // the byte ranges written, in order, as actually sent
}

// Refetched returns the bytes sent more than once: Bytes minus the bytes
// of the union of Sent.
func (f FileStats) Refetched() int64 { return f.Bytes - span.Normalize(f.Sent).Total() }

// Stats is a snapshot of what the Sim has served since Start or the last
// ResetStats.
type Stats struct {
	// Requests counts requests by kind: "hub.resolve", "hub.cache" (the
	// resolve-cache of small files), "hub.tree", "hub.repo", "hub.whoami",
	// "cdn", "civitai.version", "civitai.model", "civitai.download",
	// "civitai.login", "storage", "files", "drive", "github", "dropbox",
	// and "other" (unknown paths; also requests refused by MaxConns or
	// RequestRate before routing).
	Requests map[string]int
	// Files holds per-file counters keyed by seed (see RepoFile.Seed...).
	Files map[string]FileStats
	// Log lists every request in arrival order.
	Log []Request
}

// Seen returns the logged requests of the given kind ("" for all) that
// carried header name, for assertions such as "no Authorization reached
// the CDN" or "X-Api-Key never left its host".
func (st Stats) Seen(kind, name string) []Request {
	var out []Request
	for _, r := range st.Log {
		if (kind == "" || r.Kind == kind) && r.Header.Get(name) != "" {
			out = append(out, r)
		}
	}
	return out
}

type statsData struct {
	log   []*reqRec
	files map[string]*FileStats
}

// reqRec is the live record of one request.
type reqRec struct{ Request }

type recKey struct{}

func withRec(ctx context.Context, r *reqRec) context.Context {
	return context.WithValue(ctx, recKey{}, r)
}

func recOf(ctx context.Context) *reqRec {
	r, _ := ctx.Value(recKey{}).(*reqRec)
	return r
}

// begin logs a new request.
func (s *Sim) begin(r *http.Request) *reqRec {
	rec := &reqRec{Request{Kind: "other", Host: r.Host, Method: r.Method, Path: r.URL.Path,
		Header: r.Header.Clone()}}
	s.mu.Lock()
	s.stats.log = append(s.stats.log, rec)
	s.mu.Unlock()
	return rec
}

// end stores the answer's status.
func (s *Sim) end(w *recWriter) {
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	s.mu.Lock()
	w.rec.Status = status
	s.mu.Unlock()
}

// setKind names the kind of the request being served.
func (s *Sim) setKind(r *http.Request, kind string) {
	if rec := recOf(r.Context()); rec != nil {
		s.mu.Lock()
		rec.Kind = kind
		s.mu.Unlock()
	}
}

// noteFile counts a request for the bytes of seed.
func (s *Sim) noteFile(rec *reqRec, seed string, rangeHdr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec != nil {
		rec.Seed = seed
	}
	fst := s.fileStats(seed)
	fst.Requests++
	fst.Ranges = append(fst.Ranges, rangeHdr)
}

// noteSent counts n body bytes of seed sent from off.
func (s *Sim) noteSent(seed string, off, n int64) {
	if n == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	fst := s.fileStats(seed)
	fst.Bytes += n
	fst.Sent = append(fst.Sent, span.Range{Start: off, End: off + n})
}

func (s *Sim) fileStats(seed string) *FileStats {
	if s.stats.files == nil {
		s.stats.files = map[string]*FileStats{}
	}
	fst := s.stats.files[seed]
	if fst == nil {
		fst = &FileStats{}
		s.stats.files[seed] = fst
	}
	return fst
}

// Stats returns a snapshot of the counters; it shares nothing with the Sim.
func (s *Sim) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Requests: map[string]int{}, Files: map[string]FileStats{}}
	for _, r := range s.stats.log {
		req := r.Request
		req.Header = r.Header.Clone()
		st.Log = append(st.Log, req)
		st.Requests[req.Kind]++
	}
	for seed, f := range s.stats.files {
		st.Files[seed] = FileStats{Requests: f.Requests, Bytes: f.Bytes,
			Ranges: slices.Clone(f.Ranges), Sent: slices.Clone(f.Sent)}
	}
	return st
}

// File returns the counters of the file with seed (zero when unseen).
func (st Stats) File(seed string) FileStats { return st.Files[seed] }

// ResetStats forgets every counter and the request log.
func (s *Sim) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats = statsData{}
}
