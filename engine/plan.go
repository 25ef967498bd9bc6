package engine

import (
	"context"
	"math"
	"slices"

	"provision/internal/span"
)

// unknownEnd marks the end of a stream whose size is not known yet.
const unknownEnd = math.MaxInt64

// A piece is a range of the file that one worker fetches. Its fields are
// guarded by the job's mutex: the worker advances pos as it claims bytes
// and a splitting worker lowers end, so a byte is claimed exactly once.
type piece struct {
	start  int64 // first byte as planned, for messages
	pos    int64 // next byte to claim
	end    int64 // exclusive; unknownEnd while a stream's size is unknown
	stream bool  // fetched from byte 0 without a Range (unknown size or ranges ignored)
	gen    int   // URL generation of the current request
	cancel context.CancelFunc
}

// rng is the piece's range for messages; empty for a stream of unknown size.
func (p *piece) rng() span.Range {
	if p.end == unknownEnd {
		return span.Range{}
	}
	return span.Range{Start: p.start, End: p.end}
}

// chunkSize returns the size of the chunks a file of size bytes is cut into.
func (e *Engine) chunkSize(size int64) int64 {
	if e.cfg.ChunkSize > 0 {
		return e.cfg.ChunkSize
	}
	// Two waves of chunks per connection: the second wave is where the
	// staggered first one (see stagger) pays off, at one more first byte.
	per := 4 * int64(e.cfg.Connections)
	c := (size + per - 1) / per
	c = (c + 1<<20 - 1) &^ (1<<20 - 1)
	return min(max(c, minAutoChunk), maxAutoChunk)
}

// plan cuts the bytes of [0, size) that have does not cover into pieces of
// at most one chunk, in file order.
func (e *Engine) plan(size int64, have span.Set) []*piece {
	chunk := e.chunkSize(size)
	var ps []*piece
	for _, r := range span.Normalize(have).Missing(size) {
		for s := r.Start; s < r.End; s += chunk {
			end := min(s+chunk, r.End)
			ps = append(ps, &piece{start: s, pos: s, end: end})
		}
	}
	return ps
}

// presplitMin is the smallest piece presplit makes: below it the request's
// first-byte latency costs more than a later split of a running request.
const presplitMin = 4 << 20

// presplit halves the largest pieces of ps (in place of splitting them
// once they run, which would cut a streaming request) until there are n,
// or none is long enough to leave presplitMin (and MinSplit) on each side.
// The result stays in file order.
func (e *Engine) presplit(ps []*piece, n int) []*piece {
	least := 2 * max(e.cfg.MinSplit, presplitMin)
	for len(ps) < n {
		big := -1
		for i, p := range ps {
			if !p.stream && p.end-p.start >= least &&
				(big < 0 || p.end-p.start > ps[big].end-ps[big].start) {
				big = i
			}
		}
		if big < 0 {
			break
		}
		p := ps[big]
		mid := p.start + (p.end-p.start)/2
		if aligned := mid &^ (64<<10 - 1); aligned-p.start >= least/2 {
			mid = aligned
		}
		q := &piece{start: mid, pos: mid, end: p.end}
		p.end = mid
		ps = slices.Insert(ps, big+1, q)
	}
	return ps
}

// stagger recuts the start of ps, a job's plan for k idle connections, so
// that the first wave of pieces grows in size: piece i of the first k is
// (i+1)/k of a chunk. Connections all stream at about the same rate, so
// the pieces then complete in file order, one every 1/k of a chunk's time,
// and every later chunk (taken in file order by the connection that
// finished first) does too. The file's written prefix therefore grows
// steadily instead of in steps of k chunks, which lets the store hash it
// while it downloads rather than after the last byte. Plans of fewer than
// two waves (k chunks each), and chunks of Config.ChunkSize, are left
// alone: there the even split ends sooner.
func (e *Engine) stagger(ps []*piece, k int) []*piece {
	if k < 2 || len(ps) < 2*k || e.cfg.ChunkSize > 0 {
		return ps // a chunk size that was asked for is kept
	}
	var chunk int64
	for _, p := range ps {
		if p.stream {
			return ps
		}
		chunk = max(chunk, p.end-p.start)
	}
	step := max(chunk/int64(k)&^(64<<10-1), 64<<10)
	out := make([]*piece, 0, len(ps)+k)
	i := 0 // pieces cut so far
	for _, r := range mergePieces(ps) {
		for s := r.Start; s < r.End; {
			n := chunk
			if i < k {
				n = step * int64(i+1)
			}
			end := min(s+n, r.End)
			out = append(out, &piece{start: s, pos: s, end: end})
			s = end
			i++
		}
	}
	return out
}

// mergePieces returns the ranges ps cover, adjacent pieces joined.
func mergePieces(ps []*piece) []span.Range {
	var rs []span.Range
	for _, p := range ps {
		if n := len(rs); n > 0 && rs[n-1].End == p.start {
			rs[n-1].End = p.end
			continue
		}
		rs = append(rs, span.Range{Start: p.start, End: p.end})
	}
	return rs
}

// reserveIdle claims up to n connection slots for a job that starts while
// the Engine is idle (no slot held, waited for or claimed) and returns how
// many it got: 0 when other work is under way, which then has the
// connections, or will split this job's pieces later if it does not. The
// claim is given back with e.claimed.Add(-k) when the job ends.
func (e *Engine) reserveIdle(n int) int {
	k := int32(min(n, cap(e.slots)))
	if len(e.slots) > 0 || e.hungry.Load() > 0 || !e.claimed.CompareAndSwap(0, k) {
		return 0
	}
	return int(k)
}

// workers returns how many workers a job with these pieces gets: one per
// piece, more when splitting the remaining bytes would feed them, never
// more than the connection budget.
func (e *Engine) workers(ps []*piece) int {
	var remaining int64
	for _, p := range ps {
		if p.stream {
			return 1
		}
		remaining += p.end - p.pos
	}
	n := max(int64(len(ps)), remaining/(2*e.cfg.MinSplit), 1)
	return int(min(n, int64(e.cfg.Connections)))
}

// take hands a worker its next piece: the first queued one, else the
// second half of the running piece with the most bytes left, when that
// leaves at least MinSplit on each side. It returns nil when there is
// nothing to do; later is set when there is a piece to split but workers
// with queued chunks wait for a connection, which go first.
func (js *jobState) take() (p *piece, later bool) {
	js.mu.Lock()
	defer js.mu.Unlock()
	if len(js.queue) > 0 {
		p := js.queue[0]
		js.queue = js.queue[1:]
		js.running = append(js.running, p)
		return p, false
	}
	var victim *piece
	var most int64
	for _, p := range js.running {
		if !p.stream && p.end-p.pos > most {
			victim, most = p, p.end-p.pos
		}
	}
	minSplit := js.e.cfg.MinSplit
	if victim == nil || most < 2*minSplit {
		return nil, false
	}
	if js.e.hungry.Load() > 0 {
		return nil, true
	}
	mid := victim.pos + most/2
	if aligned := mid &^ (64<<10 - 1); aligned-victim.pos >= minSplit {
		mid = aligned
	}
	p = &piece{start: mid, pos: mid, end: victim.end}
	victim.end = mid
	js.running = append(js.running, p)
	return p, false
}

// queued reports whether the job has pieces no worker has taken.
func (js *jobState) queued() bool {
	js.mu.Lock()
	defer js.mu.Unlock()
	return len(js.queue) > 0
}

// finish removes p from the running pieces, and ends the job's waiting
// when nothing is left to run.
func (js *jobState) finish(p *piece) {
	js.mu.Lock()
	defer js.mu.Unlock()
	for i, q := range js.running {
		if q == p {
			js.running = append(js.running[:i], js.running[i+1:]...)
			break
		}
	}
	if len(js.queue) == 0 && len(js.running) == 0 {
		js.overOnce.Do(func() { close(js.over) })
	}
}

// stopped reports whether p has nothing left to claim (it finished, was
// split down to what it has, or was ended by the switch to one stream).
func (js *jobState) stopped(p *piece) bool {
	js.mu.Lock()
	defer js.mu.Unlock()
	return p.pos >= p.end
}

// goRangeless switches the job to one stream from byte 0 after the server
// answered a Range request with the whole body. Every other piece stops
// where it is (its written bytes stay valid). When adopt is set, p's answer
// starts at byte 0 and p becomes the stream; otherwise p stops too and a
// stream piece is queued.
func (js *jobState) goRangeless(p *piece, adopt bool) {
	js.mu.Lock()
	defer js.mu.Unlock()
	if js.rangeless {
		p.end = p.pos
		return
	}
	js.rangeless = true
	for _, q := range js.running {
		if q != p {
			q.end = q.pos
			if q.cancel != nil {
				q.cancel()
			}
		}
	}
	js.queue = nil
	if adopt {
		p.start, p.end, p.stream = 0, js.size, true
		return
	}
	p.end = p.pos
	js.queue = append(js.queue, &piece{end: js.size, stream: true})
}
