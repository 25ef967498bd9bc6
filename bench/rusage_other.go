//go:build !unix

package bench

import "time"

// cpuTime is unknown off Unix.
func cpuTime() time.Duration { return 0 }

// peakRSS is unknown off Unix.
func peakRSS() int64 { return 0 }
