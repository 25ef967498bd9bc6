package main

import (
	"fmt"
	"strings"
	"time"

	"provision/store"
)

// summaryRow is one line of the closing table.
type summaryRow struct {
	entry, file, size, time, speed, status string
	reason                                 string // why it failed, "" otherwise
}

// summaryRows lists one row per file (one per entry that could not be
// resolved). Time and speed count from a file's first byte, so a file
// that waited for a connection is not shown as slow.
func (env *environment) summaryRows(results []*entryResult) (rows []summaryRow,
	files, fetched int64) {
	for _, r := range results {
		failedStatus := "FAILED"
		if r.entry.Optional {
			failedStatus = "FAILED (optional)"
		}
		if r.err != nil {
			rows = append(rows, summaryRow{entry: r.entry.Key, file: "-", size: "-",
				time: "-", speed: "-", status: failedStatus, reason: reasonText(r.err)})
			continue
		}
		for _, it := range r.items {
			st, err, d := it.snapshot()
			files++
			fetched += it.fetched
			row := summaryRow{entry: r.entry.Key, file: it.label, size: sizeText(it.size),
				time: "-", speed: "-", status: st.String()}
			if st == statusDone || st == statusFailed || st == statusInterrupted {
				transfer := d
				if env.track != nil {
					_, transfer = env.track.times(it)
				}
				row.time = roundDuration(transfer).String()
				if it.fetched >= 1<<20 { // the speed of a few KiB says nothing
					row.speed = speedText(it.fetched, transfer)
				}
			}
			if st == statusFailed {
				row.status = failedStatus
				row.reason = reasonText(err)
			}
			rows = append(rows, row)
		}
	}
	return rows, files, fetched
}

// reasonText is an error without the entry key the table already shows.
func reasonText(err error) string {
	if err == nil {
		return "unknown error"
	}
	return strings.TrimSpace(err.Error())
}

// printSummary writes the closing table, then each failure with its
// reason (the message names the entry and the fix), then the totals.
func (env *environment) printSummary(results []*entryResult, elapsed time.Duration, quiet bool) {
	rows, files, fetched := env.summaryRows(results)
	var failures []string
	for _, row := range rows {
		if row.reason != "" {
			failures = append(failures, row.reason)
		}
	}
	if !quiet || len(failures) > 0 {
		fmt.Fprintln(env.stdout)
		table := [][]string{{"ENTRY", "FILE", "SIZE", "TIME", "SPEED", "STATUS"}}
		for _, r := range rows {
			table = append(table, []string{r.entry, r.file, r.size, r.time, r.speed, r.status})
		}
		writeTable(env.stdout, fitColumns(table, env.stdoutWidth(), 0, 1))
	}
	if len(failures) > 0 {
		fmt.Fprintf(env.stdout, "\n%d failed:\n", len(failures))
		for _, f := range dedupe(failures) {
			fmt.Fprintf(env.stdout, "  - %s\n", f)
		}
	}
	if n := len(env.linkErrs); n > 0 {
		fmt.Fprintf(env.stdout, "\n%d %s failed (the UI will not see those models):\n", n,
			plural(n, "link", "links"))
		for _, err := range env.linkErrs {
			fmt.Fprintf(env.stdout, "  - %v\n", err)
		}
	}
	fmt.Fprintf(env.stdout, "\n%s\n", totalsText(files, fetched, elapsed))
}

// totalsText is the last line: "3 files, 1.2 GiB fetched in 12s (98 MiB/s)",
// or "1 file, nothing fetched".
func totalsText(files, fetched int64, elapsed time.Duration) string {
	n := fmt.Sprintf("%d %s", files, plural(int(files), "file", "files"))
	if fetched <= 0 {
		return n + ", nothing fetched"
	}
	return fmt.Sprintf("%s, %s fetched in %s (%s)", n, store.HumanBytes(fetched),
		roundDuration(elapsed), speedText(fetched, elapsed))
}

// dedupe keeps the first of equal messages, with a count when repeated
// (a full disk fails every remaining file with the same words).
func dedupe(msgs []string) []string {
	n := map[string]int{}
	var order []string
	for _, m := range msgs {
		if n[m] == 0 {
			order = append(order, m)
		}
		n[m]++
	}
	out := make([]string, len(order))
	for i, m := range order {
		out[i] = m
		if n[m] > 1 {
			out[i] = fmt.Sprintf("%s (%d files)", m, n[m])
		}
	}
	return out
}

// summaryAttrs is the summary as log attributes.
func summaryAttrs(results []*entryResult, elapsed time.Duration, code int) []any {
	c := countResults(results)
	return []any{"files", c.files, "present", c.present, "done", c.done, "failed", c.failed,
		"failed_entries", strings.Join(c.failedEntries, ","), "fetched", c.fetched,
		"seconds", seconds(elapsed), "exit_code", code}
}

// emitSummary is the summary event of --json.
func (env *environment) emitSummary(results []*entryResult, elapsed time.Duration, code int) {
	c := countResults(results)
	type failure struct {
		Entry    string `json:"entry"`
		File     string `json:"file,omitempty"`
		Optional bool   `json:"optional"`
		Error    string `json:"error"`
	}
	fails := []failure{}
	for _, r := range results {
		if r.err != nil {
			fails = append(fails, failure{r.entry.Key, "", r.entry.Optional, r.err.Error()})
		}
		for _, it := range r.items {
			if st, err, _ := it.snapshot(); st == statusFailed {
				fails = append(fails, failure{r.entry.Key, it.label, r.entry.Optional,
					reasonText(err)})
			}
		}
	}
	links := make([]string, 0, len(env.linkErrs))
	for _, err := range env.linkErrs {
		links = append(links, err.Error())
	}
	env.events().emit("summary", "entries", len(results), "files", c.files,
		"present", c.present, "done", c.done, "failed", c.failed,
		"failed_entries", len(c.failedEntries), "fetched", c.fetched,
		"seconds", seconds(elapsed), "speed", speedOf(c.fetched, elapsed),
		"failures", fails, "link_failures", links, "exit_code", code)
}

type counts struct {
	files, present, done, failed, fetched int64
	failedEntries                         []string
}

func countResults(results []*entryResult) counts {
	var c counts
	for _, r := range results {
		if r.failed() {
			c.failedEntries = append(c.failedEntries, r.entry.Key)
		}
		for _, it := range r.items {
			st, _, _ := it.snapshot()
			c.files++
			c.fetched += it.fetched
			switch st {
			case statusPresent:
				c.present++
			case statusDone:
				c.done++
			case statusFailed:
				c.failed++
			}
		}
	}
	return c
}
