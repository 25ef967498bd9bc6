package engine

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"

	"provision/internal/span"
)

// Output is where a Job's bytes go. WriteAt may be called concurrently for
// disjoint ranges. Commit tells the owner that r has been written (it may
// sync and journal it); it is called after the WriteAt calls covering r
// returned, possibly several times per chunk as checkpoints.
type Output interface {
	io.WriterAt
	Commit(r span.Range) error
}

// Job is one file to fetch.
type Job struct {
	Name   string      // shown in errors and progress ("lora/detail.safetensors")
	URL    string      // never shown: messages use its redacted form
	Header http.Header // sent with URL; dropped when a redirect leaves URL's host
	Size   int64       // exact size, or -1 when unknown (then one stream from byte 0)
	Have   span.Set    // bytes already on disk; only the rest is fetched
	Out    Output

	// Refresh, when set, is called after a 403 or 410 from URL (an expired
	// signed URL): it returns a fresh URL and headers, and only the missing
	// ranges are fetched from it.
	Refresh func(ctx context.Context) (string, http.Header, error)

	// Progress, when set, is updated as bytes arrive.
	Progress *Progress

	// IfMatch, when set, is sent as If-Match with every request: the ETag
	// the data server gave when the bytes in Have were fetched (see
	// Result.ETag). A 412 answer then fails the job with ErrRemoteChanged
	// instead of splicing two versions of the file.
	IfMatch string
}

// Progress holds a file's live counters. Its methods are safe for
// concurrent use; the zero value is ready.
type Progress struct {
	size    atomic.Int64 // -1 unknown
	done    atomic.Int64 // bytes on disk, including those there before
	fetched atomic.Int64 // bytes received over the network in this run
	conns   atomic.Int32 // connections currently streaming this file
}

// Size returns the file size, or -1 while unknown.
func (p *Progress) Size() int64 { return p.size.Load() }

// Done returns the bytes of the file that are written.
func (p *Progress) Done() int64 { return p.done.Load() }

// Fetched returns the bytes received in this run, counting any fetched twice.
func (p *Progress) Fetched() int64 { return p.fetched.Load() }

// Conns returns how many connections are streaming the file now.
func (p *Progress) Conns() int { return int(p.conns.Load()) }
