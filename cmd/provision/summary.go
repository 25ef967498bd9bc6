package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"provision/store"
)

// printSummary writes the closing table: one row per file (one per entry
// that could not be resolved), then the failures with their reasons.
func (env *environment) printSummary(results []*entryResult, elapsed time.Duration, quiet bool) {
	var rows, failures []string
	var fetched, files int64
	for _, r := range results {
		if r.err != nil {
			rows = append(rows, fmt.Sprintf("%s\t-\t-\t-\t-\tFAILED", r.entry.Key))
			failures = append(failures, r.err.Error())
			continue
		}
		for _, it := range r.items {
			st, err, d := it.snapshot()
			files++
			fetched += it.fetched
			timeCol, speedCol := "-", "-"
			if st == statusDone || st == statusFailed {
				timeCol = roundDuration(d).String()
				speedCol = speedText(it.fetched, d)
			}
			rows = append(rows, fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s",
				r.entry.Key, it.label, sizeText(it.size), timeCol, speedCol, st))
			if err != nil {
				failures = append(failures, err.Error())
			}
		}
	}
	if !quiet || len(failures) > 0 {
		fmt.Fprintln(env.stdout)
		tw := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ENTRY\tFILE\tSIZE\tTIME\tSPEED\tSTATUS")
		for _, row := range rows {
			fmt.Fprintln(tw, row)
		}
		tw.Flush()
	}
	if len(failures) > 0 {
		fmt.Fprintf(env.stdout, "\n%d failed:\n", len(failures))
		for _, f := range failures {
			fmt.Fprintf(env.stdout, "  - %s\n", strings.TrimSpace(f))
		}
	}
	fmt.Fprintf(env.stdout, "\n%d files, %s fetched in %s (%s)\n", files,
		store.HumanBytes(fetched), roundDuration(elapsed), speedText(fetched, elapsed))
}
