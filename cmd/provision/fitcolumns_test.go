package main

import (
	"strings"
	"testing"

	"github.com/mattn/go-runewidth"
)

// A summary table narrower than the terminal keeps every name whole; a
// wider one has its name columns shortened so no line wraps, and the
// names stay told apart by their ends.
func TestFitColumns(t *testing.T) {
	rows := [][]string{
		{"ENTRY", "FILE", "SIZE", "STATUS"},
		{"models.checkpoints.flux-dev", "checkpoints/flux1-dev.safetensors", "80.0 MiB", "done"},
		{"models.checkpoints.flux-schnell", "checkpoints/flux1-schnell.safetensors", "80.0 MiB",
			"done"},
	}
	if got := fitColumns(rows, 0, 0, 1); got[1][1] != rows[1][1] {
		t.Fatal("off a terminal the names must stay whole")
	}
	if got := fitColumns(rows, 200, 0, 1); got[2][0] != rows[2][0] {
		t.Fatal("a table that fits must not change")
	}
	var b strings.Builder
	writeTable(&b, fitColumns(rows, 60, 0, 1))
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	for _, l := range lines {
		if w := runewidth.StringWidth(l); w > 60 {
			t.Errorf("line of %d columns on a 60-column terminal: %q", w, l)
		}
	}
	fit := fitColumns(rows, 60, 0, 1)
	if fit[1][1] == fit[2][1] || fit[1][0] == fit[2][0] ||
		!strings.HasPrefix(fit[1][1], "flux1-d") || !strings.HasPrefix(fit[2][1], "flux1-s") {
		t.Errorf("shortened names are no longer told apart:\n%s", b.String())
	}
}
