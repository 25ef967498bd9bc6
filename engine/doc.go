// Package engine moves bytes: it splits a file into HTTP Range chunks,
// fetches them over a shared budget of HTTP/1.1 connections with one global
// rate limit, checks every response before writing a byte, retries what
// fails, and writes with positioned writes into an Output the caller owns.
// It knows no service names and never prints; progress is counters.
//
// # Use
//
// One Engine per process: New(Config) builds it, and Fetch(ctx, job) may be
// called from many goroutines at once. All Fetch calls share
// Config.Connections request slots and one rate limiter, so a manifest of
// many files never opens more connections than asked for.
//
// # How a file is fetched
//
// The bytes of [0, Job.Size) that Job.Have lacks are cut into chunks
// (Config.ChunkSize, or size/(4*Connections) within 8..64 MiB); a file no
// larger than one chunk is one request without a Range header. A job that
// starts while the Engine is idle has its largest chunks halved (not below
// 4 MiB) until each connection it can use has one; when it has two waves
// of automatic chunks or more, the first wave is staggered instead (piece
// i of k is (i+1)/k of a chunk), so that pieces complete in file order and
// the written prefix, which the store hashes while downloading, grows
// steadily rather than all at the end. Each worker takes a
// connection slot and the next chunk; a worker that finds no chunk
// left splits the running chunk with the most bytes remaining (the running
// request stops at the new boundary), so the tail of a file uses every
// connection. A worker does not split while a chunk that was never started
// (of any file) or a retry waits for a slot: those go first.
//
// Before a byte of an answer is written its status, Content-Range
// (start, end and total), Content-Length and Content-Type are checked. A
// server that answers a Range request with 200 is read as one stream from
// byte 0, never written at another offset. Bytes go from a pooled 256 KiB
// buffer straight to Output.WriteAt; memory does not grow with file size.
//
// # Commits and resume
//
// Output.Commit(r) is called for bytes whose WriteAt returned: every
// Config.CommitEvery bytes inside a chunk (exactly at those offsets from the
// start of the request) and when a request ends for any reason. A store
// that syncs and journals on Commit therefore loses at most CommitEvery
// bytes per connection when the process dies.
//
// # Retries
//
// Retryable decides what is tried again; backoff is exponential with
// jitter (Config.Backoff) and a Retry-After on 429/503 is honoured. A
// dropped or short body continues from its last written byte; a request
// without a byte for Config.IdleTimeout is aborted and retried (there is
// no overall deadline). 403/410 call Job.Refresh (once per expired URL, at
// most three times in a row without new bytes) and continue with the
// missing ranges.
// Attempts count per chunk and start over when an attempt moved the chunk
// by at least 64 KiB or 1% of it, whichever is less, so a transfer that
// keeps making progress is never given up, while a server that sends a
// byte and drops is given up after Config.Retries; a connection that
// dropped after delivering bytes is asked again at once. A 429 with Retry-After pauses every request
// to that host (the other connections do not collect 429s of their own); a
// 503 with Retry-After pauses only its chunk. Neither counts against
// Config.Retries.
//
// # A changed remote
//
// Result.ETag is the data server's strong ETag. Passed back as Job.IfMatch
// on a resume, a 412 (or any answer with another strong ETag, also within
// one Fetch) fails with ErrRemoteChanged; so does a size other than
// Job.Size (ErrSizeChanged). The caller then starts the file again.
package engine
