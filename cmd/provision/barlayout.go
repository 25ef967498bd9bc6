package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mattn/go-runewidth"
)

// countersWidth is the column of "1023.9 MiB / 1023.9 MiB" beside a bar;
// barGaps the spaces mpb puts on either side of the bar.
const (
	countersWidth = 25
	barGaps       = 2
)

// barLayout is how a bar line shares a terminal's columns: the file name,
// the counters (countersWidth), the bar with its brackets, and the rate.
// Narrow terminals first lose the ETA, then the speed, so that a line
// never wraps (which makes mpb redraw garbage).
type barLayout struct {
	names int  // columns for a file name
	bar   int  // columns for " [===>---] "
	speed bool // show the speed
	eta   bool // show the ETA after it
}

// Widths of the rate column: "1023.9 MiB/s  ETA 59m59s", "1023.9 MiB/s",
// "finishing".
const (
	rateWidthETA   = 24
	rateWidthSpeed = 12
	rateWidthNone  = 9
)

// barLayoutFor fits a bar line into cols columns, leaving the last one
// free (a character there makes some terminals wrap). cols <= 0 means
// unknown: the widest layout.
func barLayoutFor(cols int) barLayout {
	if cols <= 0 {
		return barLayout{names: 48, bar: 30, speed: true, eta: true}
	}
	budget := cols - 1 - countersWidth - barGaps
	for _, l := range []barLayout{
		{names: 28, bar: 30, speed: true, eta: true},
		{names: 24, bar: 16, speed: true, eta: true},
		{names: 24, bar: 14, speed: true},
		{names: 20, bar: 10, speed: true},
		{names: 12, bar: 8},
	} {
		rate := rateWidthNone
		switch {
		case l.eta:
			rate = rateWidthETA
		case l.speed:
			rate = rateWidthSpeed
		}
		if room := budget - l.bar - rate; room >= l.names {
			l.names = min(room, 48)
			return l
		}
	}
	return barLayout{names: max(budget-8-rateWidthNone, 8), bar: 8}
}

// fitName shortens a label "folder/sub/file" to n columns so that names
// stay told apart: the file name is kept whole when it fits, after as
// much of the folder's start as room allows ("checkpoi…/flux1-dev.sft",
// "…/flux1-dev.safetensors"); a file name longer than n keeps its start
// and its extension ("sd_xl_base_1.0…safetensors").
func fitName(s string, n int) string {
	if runewidth.StringWidth(s) <= n {
		return s
	}
	dir, base := "", s
	if i := strings.LastIndex(s, "/"); i >= 0 {
		dir, base = s[:i], s[i+1:]
	}
	bw := runewidth.StringWidth(base)
	if dir != "" && bw+2 <= n {
		keep := n - bw - 2 // columns of the folder's start before "…/"
		return runewidth.Truncate(dir, keep, "") + "…/" + base
	}
	if bw <= n {
		return base // no room for "…/" before it: the file name alone
	}
	if n < 3 {
		return runewidth.Truncate(base, n, "")
	}
	tail := min(n/3, bw)
	if i := strings.LastIndex(base, "."); i > 0 {
		tail = min(runewidth.StringWidth(base[i:]), n/2)
	}
	head := n - 1 - tail
	return runewidth.Truncate(base, head, "") + "…" + lastColumns(base, tail)
}

// lastColumns is the end of s that is at most n columns wide.
func lastColumns(s string, n int) string {
	rs := []rune(s)
	w := 0
	i := len(rs)
	for i > 0 && w+runewidth.RuneWidth(rs[i-1]) <= n {
		w += runewidth.RuneWidth(rs[i-1])
		i--
	}
	return string(rs[i:])
}

// totalText is the total bar's name in at most n columns: "total (3
// active, 2 queued)", where active files are receiving bytes and queued
// ones wait for a connection; shorter forms on narrow terminals.
func totalText(active, queued, n int) string {
	forms := []string{fmt.Sprintf("total (%d active)", active), fmt.Sprintf("total %d", active)}
	if queued > 0 {
		forms = []string{fmt.Sprintf("total (%d active, %d queued)", active, queued),
			fmt.Sprintf("total (%d+%d queued)", active, queued),
			fmt.Sprintf("total %d+%d", active, queued)}
	}
	for _, f := range forms {
		if len(f) <= n {
			return f
		}
	}
	return runewidth.Truncate("total", n, "")
}

// writeTable writes rows as space-separated columns (two spaces apart),
// measuring text in terminal columns so that CJK and other wide names
// keep the columns aligned (text/tabwriter counts runes).
func writeTable(w io.Writer, rows [][]string) {
	var widths []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], runewidth.StringWidth(c))
		}
	}
	var b strings.Builder
	for _, r := range rows {
		b.Reset()
		for i, c := range r {
			if i == len(r)-1 {
				b.WriteString(c)
				break
			}
			b.WriteString(c)
			b.WriteString(strings.Repeat(" ", widths[i]-runewidth.StringWidth(c)+2))
		}
		fmt.Fprintln(w, b.String())
	}
}

// fitColumns narrows the text of columns cols (widest first, down to
// minCol each) until rows fit width terminal columns, so a summary or plan
// table does not wrap on a terminal; names keep their distinguishing end
// (see fitName). width <= 0 (not a terminal) leaves rows as they are.
func fitColumns(rows [][]string, width int, cols ...int) [][]string {
	const minCol = 12
	if width <= 0 || len(rows) == 0 {
		return rows
	}
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			if i < len(widths) {
				widths[i] = max(widths[i], runewidth.StringWidth(c))
			}
		}
	}
	total := 2 * (len(widths) - 1)
	for _, w := range widths {
		total += w
	}
	for total > width {
		widest := -1
		for _, i := range cols {
			if i < len(widths) && widths[i] > minCol && (widest < 0 || widths[i] > widths[widest]) {
				widest = i
			}
		}
		if widest < 0 {
			break // nothing left to narrow: let the terminal wrap
		}
		widths[widest]-- // one column at a time keeps the narrowed columns even
		total--
	}
	out := make([][]string, len(rows))
	for ri, r := range rows {
		out[ri] = append([]string(nil), r...)
		for _, i := range cols {
			if i < len(r) && runewidth.StringWidth(r[i]) > widths[i] {
				out[ri][i] = fitName(r[i], widths[i])
			}
		}
	}
	return out
}

// stdoutWidth returns the terminal width of env.stdout, 0 when it is not
// a terminal (logs keep whole names).
func (env *environment) stdoutWidth() int {
	if f, ok := env.stdout.(*os.File); ok && isTerminal(f.Fd()) {
		return termWidth(f.Fd())
	}
	return 0
}
