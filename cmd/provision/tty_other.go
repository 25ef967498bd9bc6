//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package main

// isTerminal is false where terminals cannot be detected: plain log lines
// are always readable.
func isTerminal(uintptr) bool { return false }
