// Package sim is an offline stand-in for the services provision downloads
// from: the HuggingFace hub and its signed CDN, the CivitAI API, download
// endpoint and signed storage, and plain Range-capable file servers. It
// listens on loopback only and serves deterministic virtual files of any
// size (see Content), so tests, the demo and the benchmarks need neither the
// network nor disk space.
//
// The answers follow what the real services send (status codes, headers,
// JSON shapes, error bodies); see the Start documentation for the URL
// formats, and Faults for the misbehaviour a test can switch on.
package sim
