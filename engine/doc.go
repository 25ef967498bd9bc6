// Package engine moves bytes: it splits a file into HTTP Range chunks,
// fetches them over a shared budget of HTTP/1.1 connections with one global
// rate limit, checks every response before writing a byte, retries what
// fails, and writes with positioned writes into an Output the caller owns.
// It knows no service names and never prints; progress is counters.
package engine
