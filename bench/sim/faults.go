package sim

import (
	"fmt"
	"sync"
	"time"

	"provision/internal/span"
)

// Faults is the misbehaviour of the answers that carry a file's bytes (CDN,
// CivitAI storage, plain files, the hub's resolve-cache). The zero value is
// a well-behaved server. Config.Faults applies to every file; SetFaults
// replaces it for one file. "Once" faults fire once per file after each
// SetFaults, Replace (or Start), whatever the host serving it; counters
// (DropEvery, ErrorOnRange) restart at the same moments. Faults never apply
// to the hub's redirects or the APIs, only to answers with the bytes.
type Faults struct {
	// ConnRate caps each TCP connection at this many bytes per second while
	// it carries the file; 0 is unlimited. (Config.TotalRate caps all.)
	ConnRate int64
	// Latency is waited before the status line of every answer carrying
	// the file's bytes (HEAD included), as a first-byte delay.
	Latency time.Duration

	// DropEvery cuts the connection each time the bytes served of the file
	// (all connections together) cross a multiple of DropEvery: the body
	// stops exactly at the multiple and the connection closes with a FIN,
	// or with a TCP reset (SO_LINGER 0) when DropReset is set.
	DropEvery int64
	DropReset bool

	// StallAfter, once: the first GET answer with a body sends StallAfter
	// body bytes, then stays silent with the connection open until the
	// client gives up (or the Sim closes).
	StallAfter int64

	// IgnoreRange answers every request 200 with the whole body and no
	// Content-Range (HEAD still says Accept-Ranges: bytes).
	IgnoreRange bool
	// NoLength sends bodies without Content-Length (chunked encoding).
	NoLength bool
	// ShortOnce: the first answer to a request whose start lies in bytes
	// no earlier short answer covered promises its full Content-Length,
	// sends half of it and closes the connection. A retry that starts
	// inside that requested range (from byte zero of the range, or from
	// where the body stopped) gets its full answer, so every chunk is cut
	// once on its first try and succeeds on the next.
	ShortOnce bool
	// EmptyOnce: the first GET answers 200 with Content-Length: 0.
	EmptyOnce bool
	// ErrorOnRange, when > 0: the ErrorOnRange-th GET carrying a Range
	// header (counted per file, from 1) answers an error page instead of
	// the bytes — 503 text/html, or 403 XML AccessDenied with ErrorXML.
	ErrorOnRange int
	ErrorXML     bool
	// Spurious416, once: the first ranged GET starting after byte 0
	// answers 416 with Content-Range "bytes */<size>".
	Spurious416 bool
	// Always416 answers every ranged GET 416 "bytes */<size>", as a server
	// does for a resume of a file it already sent whole.
	Always416 bool

	// URLLifetime overrides Config.URLLifetime for signed URLs to this file
	// (measured from when the hub or download endpoint issues them).
	URLLifetime time.Duration
}

// fileState is one served file: its content, names, and fault counters.
type fileState struct {
	id   int    // index in Sim.files; part of CDN paths
	name string // the name the file is downloaded as (basename)
	disp string // Content-Disposition of storage and plain answers, "" for none

	// next bumps the catalog file's generation to a new size and returns
	// its new content; nil for files with a Body.
	next func(size int64) blob

	mu      sync.Mutex
	b       blob // the bytes; replaced by Sim.Replace
	faults  Faults
	own     bool  // faults were set for this file, not inherited
	served  int64 // bytes served, for DropEvery
	ranged  int   // GETs with a Range header, for ErrorOnRange
	stalled bool
	emptied bool
	spur    bool
	cut     span.Set // requested ranges already answered short
}

// rearm resets the once-counters after a SetFaults.
func (fs *fileState) rearm() {
	fs.served, fs.ranged = 0, 0
	fs.stalled, fs.emptied, fs.spur = false, false, false
	fs.cut = nil
}

// blob returns the file's current content.
func (fs *fileState) blob() blob {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.b
}

func (fs *fileState) current() Faults {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.faults
}

// SetFaults sets the faults of the file named key and re-arms its once
// faults. key is a file's seed (RepoFile.Seed etc.), "<repo id>/<path>" for
// a hub file, a CivitAI file's Name or id as "civitai:<id>", a plain
// file's Name, "drive:<id>", "github:<repo>/<ref>/<path>" or
// "dropbox:<id>". An empty key sets the default for every file that has no
// faults of its own, and re-arms those. SetFaults is safe for concurrent
// use with requests in flight; answers already started keep their faults.
func (s *Sim) SetFaults(key string, f Faults) error {
	if key == "" {
		s.mu.Lock()
		s.defaults = f
		s.mu.Unlock()
		for _, fs := range s.files {
			fs.mu.Lock()
			if !fs.own {
				fs.faults = f
				fs.rearm()
			}
			fs.mu.Unlock()
		}
		return nil
	}
	fs, ok := s.byKey[key]
	if !ok {
		return fmt.Errorf("sim: set faults: no file %q", key)
	}
	fs.mu.Lock()
	fs.faults, fs.own = f, true
	fs.rearm()
	fs.mu.Unlock()
	return nil
}

// takeShort reports whether the answer for [start, end) is to be cut short,
// recording the range when it is.
func (fs *fileState) takeShort(start, end int64) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, r := range fs.cut {
		if start >= r.Start && start < r.End {
			return false
		}
	}
	fs.cut = fs.cut.Add(span.Range{Start: start, End: end})
	return true
}

// takeOnce flips *flag and reports whether it was still unset.
func (fs *fileState) takeOnce(flag *bool) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if *flag {
		return false
	}
	*flag = true
	return true
}

// nextRanged counts a ranged GET and returns its 1-based number.
func (fs *fileState) nextRanged() int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.ranged++
	return fs.ranged
}

// reserve accounts n bytes about to be served and returns how many may go
// before a DropEvery boundary, and whether the connection is then cut.
func (fs *fileState) reserve(n, every int64) (int64, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if every <= 0 {
		fs.served += n
		return n, false
	}
	next := (fs.served/every + 1) * every
	if fs.served+n >= next {
		allowed := next - fs.served
		fs.served = next
		return allowed, true
	}
	fs.served += n
	return n, false
}
