package main

import (
	"fmt"
	"strings"
	"time"

	"provision/store"
)

func sizeText(n int64) string {
	if n < 0 {
		return "size unknown"
	}
	return store.HumanBytes(n)
}

// progressText is "1.2 GiB / 6.5 GiB  18%  95.3 MiB/s  ETA 56s".
func progressText(done, size int64, speed float64) string {
	var b strings.Builder
	b.WriteString(store.HumanBytes(done))
	if size > 0 {
		fmt.Fprintf(&b, " / %s  %3.0f%%", store.HumanBytes(size), 100*float64(done)/float64(size))
	}
	fmt.Fprintf(&b, "  %s/s", store.HumanBytes(int64(speed)))
	if size > 0 && speed > 0 {
		eta := time.Duration(float64(size-done) / speed * float64(time.Second))
		fmt.Fprintf(&b, "  ETA %s", roundDuration(eta))
	}
	return b.String()
}

func speedText(bytes int64, d time.Duration) string {
	if d <= 0 || bytes <= 0 {
		return "—"
	}
	return store.HumanBytes(int64(float64(bytes)/d.Seconds())) + "/s"
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond)
	case d < 10*time.Second:
		return d.Round(100 * time.Millisecond)
	default:
		return d.Round(time.Second)
	}
}

func rateString(r float64) string {
	if r <= 0 {
		return "unlimited"
	}
	return store.HumanBytes(int64(r)) + "/s"
}

// elapsedText is "12.3s" below a minute, else "4m05s".
func elapsedText(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	d = d.Round(time.Second)
	return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
}
