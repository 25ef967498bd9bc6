package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"provision/resolver"
	"provision/store"
)

func (env *environment) planCmd(c *cli.Context) error {
	src, err := env.configSource(c)
	if err != nil {
		return err
	}
	m, err := resolver.LoadManifest(c.Context, http.DefaultClient, src, env.getenv)
	if err != nil {
		return &exitError{code: exitUsage, msg: err.Error()}
	}
	cfg, err := env.loadConfig(c, &m.Settings)
	if err != nil {
		return err
	}
	return env.plan(c, cfg, m, c.Bool(flagJSON))
}

// planRow is one line of the plan, also its JSON form.
type planRow struct {
	Entry     string `json:"entry"`
	Source    string `json:"source"`
	File      string `json:"file,omitempty"`
	Size      int64  `json:"size"`
	SHA256    bool   `json:"sha256_known"`
	Target    string `json:"target,omitempty"`
	Status    string `json:"status"` // present, missing, fail
	Reason    string `json:"reason,omitempty"`
	FetchSize int64  `json:"fetch_bytes"`
}

// plan resolves every entry and shows what a run would do, fetching no
// model bytes. It exits 1 when some entry would fail.
func (env *environment) plan(c *cli.Context, cfg *config, m *resolver.Manifest, asJSON bool) error {
	ctx := c.Context
	logger, closeLog, err := env.openLog(cfg)
	if err != nil {
		return err
	}
	defer closeLog()
	p, err := newPipeline(cfg, &lineReporter{w: env.stdout, quiet: true}, logger)
	if err != nil {
		return err
	}
	results := p.resolveAll(ctx, m.Entries)
	p.checkPresent(ctx, results)

	var rows []planRow
	var need int64
	for _, r := range results {
		if r.err != nil {
			rows = append(rows, planRow{Entry: r.entry.Key, Source: string(r.entry.Source),
				Size: -1, Status: "fail", Reason: r.err.Error()})
			continue
		}
		for _, it := range r.items {
			row := planRow{Entry: r.entry.Key, Source: string(r.entry.Source), File: it.target.Rel,
				Size: it.target.Size, SHA256: it.target.SHA256 != "", Target: it.final,
				Status: "missing"}
			if st, _, _ := it.snapshot(); st == statusPresent {
				row.Status = "present"
			} else if it.target.Size > 0 {
				row.FetchSize = store.Remaining(it.final, it.target.Size)
				need += row.FetchSize
			}
			rows = append(rows, row)
		}
	}
	free, freeErr := store.FreeSpace(cfg.ModelsDir)

	if asJSON {
		out := struct {
			Manifest  string    `json:"manifest"`
			ModelsDir string    `json:"models_dir"`
			Files     []planRow `json:"files"`
			Need      int64     `json:"fetch_bytes"`
			Free      int64     `json:"free_bytes"`
		}{m.Origin, cfg.ModelsDir, rows, need, free}
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		env.printPlan(m, cfg, rows, need, free, freeErr)
	}

	var failed int
	for _, r := range rows {
		if r.Status == "fail" {
			failed++
		}
	}
	if failed > 0 {
		return &exitError{code: exitFailed, msg: fmt.Sprintf("%d entries would fail", failed)}
	}
	if freeErr == nil && need > free {
		return &exitError{code: exitFailed, msg: fmt.Sprintf("need %s in %s, %s free",
			store.HumanBytes(need), cfg.ModelsDir, store.HumanBytes(free))}
	}
	return nil
}

func (env *environment) printPlan(m *resolver.Manifest, cfg *config, rows []planRow,
	need, free int64, freeErr error) {
	fmt.Fprintf(env.stdout, "plan for %s (%d entries) into %s\n\n", m.Origin, len(m.Entries),
		cfg.ModelsDir)
	tw := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ENTRY\tSOURCE\tFILE\tSIZE\tSHA256\tTARGET\tSTATUS")
	for _, r := range rows {
		sha := "-"
		if r.SHA256 {
			sha = "known"
		}
		file := r.File
		if file == "" {
			file = "-"
		}
		size := "-"
		if r.Status != "fail" {
			size = sizeText(r.Size)
		}
		target := "-"
		if r.Target != "" {
			target = r.Target
		}
		status := r.Status
		if status == "fail" {
			status = "will fail (below)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Entry, r.Source, file, size, sha,
			target, status)
	}
	tw.Flush()
	var fails int
	for _, r := range rows {
		if r.Status == "fail" {
			if fails == 0 {
				fmt.Fprintln(env.stdout, "\nwill fail:")
			}
			fails++
			fmt.Fprintf(env.stdout, "  - %s\n", r.Reason)
		}
	}
	freeText := "unknown"
	if freeErr == nil {
		freeText = store.HumanBytes(free)
	}
	fmt.Fprintf(env.stdout, "\nto fetch: %s; free in %s: %s\n", store.HumanBytes(need),
		cfg.ModelsDir, freeText)
}
