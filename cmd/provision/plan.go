package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"provision/resolver"
	"provision/store"
)

func (env *environment) planCmd(c *cli.Context) error {
	src, err := env.configSource(c)
	if err != nil {
		return err
	}
	m, err := resolver.LoadManifest(c.Context, nil, src, env.getenv)
	if err != nil {
		return &exitError{code: exitUsage, msg: err.Error()}
	}
	cfg, err := env.loadConfig(c, &m.Settings)
	if err != nil {
		return err
	}
	return env.plan(c, cfg, m, cfg.JSON) // --json or PROVISION_JSON
}

// planRow is one line of the plan, also its JSON form.
type planRow struct {
	Entry     string `json:"entry"`
	Source    string `json:"source"`
	File      string `json:"file,omitempty"`
	Size      int64  `json:"size"` // -1 when unknown
	SHA256    bool   `json:"sha256_known"`
	Target    string `json:"target,omitempty"`
	Status    string `json:"status"`            // present, missing, replace, fail
	Replace   string `json:"replace,omitempty"` // with replace: "size differs", ...
	Kind      string `json:"kind,omitempty"`    // with fail: failKind's short words
	Reason    string `json:"reason,omitempty"`
	Optional  bool   `json:"optional,omitempty"`
	FetchSize int64  `json:"fetch_bytes"`
}

// failKinds name, in a few words for the plan's status column, what kind
// of failure an entry's error is; the full sentence is printed below the
// table. More specific kinds come first.
var failKinds = []struct {
	err   error
	words string
}{
	{resolver.ErrAuthRequired, "token required"},
	{resolver.ErrInvalidToken, "token invalid"},
	{resolver.ErrNotApproved, "access not granted"},
	{resolver.ErrPrivateOrMissing, "repo private or missing"},
	{resolver.ErrModelNotVersion, "model id, not version"},
	{resolver.ErrRepoNotFound, "repo not found"},
	{resolver.ErrRevisionNotFound, "revision not found"},
	{resolver.ErrVersionNotFound, "version not found"},
	{resolver.ErrFileNotFound, "file not found"},
	{resolver.ErrNoMatch, "no file matches"},
	{resolver.ErrAmbiguous, "several files match"},
	{resolver.ErrEarlyAccess, "early access"},
	{resolver.ErrArchived, "archived"},
	{resolver.ErrNotAFile, "not a file"},
	{resolver.ErrPinMismatch, "sha256 pin differs"},
	{resolver.ErrRateLimited, "rate limited"},
	{resolver.ErrUnavailable, "service unavailable"},
	{resolver.ErrUnsupported, "unsupported"},
	{resolver.ErrEnvUnset, "variable not set"},
}

// failKind is the status-column words for err, or "error".
func failKind(err error) string {
	for _, k := range failKinds {
		if errors.Is(err, k.err) {
			return k.words
		}
	}
	return "error"
}

// plan resolves every entry and shows what a run would do, fetching no
// model bytes. It exits 1 when some entry would fail.
func (env *environment) plan(c *cli.Context, cfg *config, m *resolver.Manifest,
	asJSON bool) error {
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
	var need, diskNeed int64 // bytes to fetch; disk blocks still to reserve
	for _, r := range results {
		if r.err != nil {
			rows = append(rows, planRow{Entry: r.entry.Key, Source: string(r.entry.Source),
				Size: -1, Status: "fail", Kind: failKind(r.err), Reason: r.err.Error(),
				Optional: r.entry.Optional})
			continue
		}
		for _, it := range r.items {
			row := planRow{Entry: r.entry.Key, Source: string(r.entry.Source), File: it.target.Rel,
				Size: it.target.Size, SHA256: it.target.SHA256 != "", Target: it.final,
				Status: "missing", Optional: r.entry.Optional}
			if st, _, _ := it.snapshot(); st == statusPresent {
				row.Status = "present"
			} else {
				if it.replace != "" {
					row.Status, row.Replace = "replace", it.replace
				}
				if t := it.target; t.Size > 0 {
					// What a resume keeps comes from the journal; the disk
					// a preallocated .part already holds is not needed twice.
					row.FetchSize = t.Size - store.OnDisk(it.final, store.Identity{
						Origin: t.Origin, Size: t.Size, SHA256: t.SHA256, ETag: t.ETag})
					need += row.FetchSize
					diskNeed += store.Remaining(it.final, t.Size)
				}
			}
			rows = append(rows, row)
		}
	}
	free, freeErr := store.FreeSpace(cfg.ModelsDir)
	tokens := tokenUses(cfg, results)

	if asJSON {
		out := struct {
			Manifest  string     `json:"manifest"`
			ModelsDir string     `json:"models_dir"`
			Files     []planRow  `json:"files"`
			Need      int64      `json:"fetch_bytes"`
			Free      int64      `json:"free_bytes"`
			Tokens    []tokenUse `json:"tokens"`
		}{m.Origin, cfg.ModelsDir, rows, need, free, tokens}
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		env.printPlan(m, cfg, rows, need, free, freeErr, tokens)
	}

	var failed int
	for _, r := range rows {
		if r.Status == "fail" {
			failed++
		}
	}
	if failed > 0 {
		return &exitError{code: exitFailed, msg: fmt.Sprintf("%d %s would fail", failed,
			plural(failed, "entry", "entries"))}
	}
	if freeErr == nil && diskNeed > free {
		return &exitError{code: exitFailed, msg: fmt.Sprintf("need %s in %s, %s free",
			store.HumanBytes(diskNeed), cfg.ModelsDir, store.HumanBytes(free))}
	}
	return nil
}

func (env *environment) printPlan(m *resolver.Manifest, cfg *config, rows []planRow,
	need, free int64, freeErr error, tokens []tokenUse) {
	fmt.Fprintf(env.stdout, "plan for %s (%d %s) into %s\n\n", m.Origin, len(m.Entries),
		plural(len(m.Entries), "entry", "entries"), cfg.ModelsDir)
	table := [][]string{{"ENTRY", "SOURCE", "FILE", "SIZE", "SHA256", "TARGET", "STATUS"}}
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
		if r.Target != "" { // shown under the models folder the header names
			target = r.Target
			if rel, err := filepath.Rel(cfg.ModelsDir, r.Target); err == nil &&
				filepath.IsLocal(rel) {
				target = filepath.ToSlash(rel)
			}
		}
		status := r.Status
		switch {
		case status == "fail":
			status = "will fail: " + r.Kind
		case status == "missing" && r.Size > 0 && r.FetchSize < r.Size:
			status = "missing (" + store.HumanBytes(r.FetchSize) + " left)"
		case status == "replace":
			status = "replace (" + r.Replace + ")"
		}
		if r.Optional {
			status += " (optional)"
		}
		table = append(table, []string{r.Entry, r.Source, file, size, sha, target, status})
	}
	writeTable(env.stdout, fitColumns(table, env.stdoutWidth(), 0, 2, 5))
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
	fmt.Fprintln(env.stdout)
	printTokens(env.stdout, tokens)
	freeText := "unknown"
	if freeErr == nil {
		freeText = store.HumanBytes(free)
	}
	unknown := ""
	var n int
	for _, r := range rows {
		if r.Status == "missing" && r.Size < 0 {
			n++
		}
	}
	if n > 0 {
		unknown = fmt.Sprintf(" and %d %s of unknown size", n, plural(n, "file", "files"))
	}
	fmt.Fprintf(env.stdout, "to fetch: %s%s; free in %s: %s\n", store.HumanBytes(need),
		unknown, cfg.ModelsDir, freeText)
}

// verifyFailed is the message of a file whose finished bytes failed
// verification (the store already removed them): what did not match and
// what to do, since a pin in the manifest and a source that changed or
// broke the transfer need different fixes. Other errors pass through with
// the entry's key.
func verifyFailed(e *resolver.Entry, err error) error {
	var ve *store.VerifyError
	if !errors.As(err, &ve) {
		return fmt.Errorf("%s: %w", e.Key, err)
	}
	hint := "nothing was kept; run again, and if it repeats the source is serving other " +
		"bytes than it describes"
	if ve.Check == "sha256" && e.SHA256 != "" && strings.EqualFold(ve.Expected, e.SHA256) {
		hint = "nothing was kept; the bytes differ from the sha256 pinned in the manifest: " +
			"fix sha256 (or the source) in the entry"
	}
	return fmt.Errorf("%s: %w; %s", e.Key, err, hint)
}

// tokenUse is what the plan says about one token variable: whether it is
// set, how many entries use it, and which entries failed for want of it.
// The token itself is never part of it.
type tokenUse struct {
	Var      string   `json:"var"`
	Set      bool     `json:"set"`
	Entries  int      `json:"entries"`             // entries of the token's source
	Invalid  bool     `json:"invalid"`             // rejected before any download
	NeededBy []string `json:"needed_by,omitempty"` // entries that failed for want of it
	Note     string   `json:"note,omitempty"`
}

// tokenUses lists the token variables the manifest's entries use, in a
// fixed order, skipping those no entry uses.
func tokenUses(cfg *config, results []*entryResult) []tokenUse {
	uses := []tokenUse{
		{Var: "HF_TOKEN", Set: cfg.HFToken != ""},
		{Var: "CIVITAI_TOKEN", Set: cfg.CivitAIToken != ""},
	}
	if uses[1].Set {
		uses[1].Note = "CivitAI cannot check a token before use: a bad one shows as a " +
			"refused download of an entry that needs a login"
	}
	var out []tokenUse
	for _, u := range uses {
		for _, r := range results {
			if resolver.TokenVar(r.entry) != u.Var {
				continue
			}
			u.Entries++
			switch {
			case errors.Is(r.err, resolver.ErrInvalidToken):
				u.Invalid = true
			case errors.Is(r.err, resolver.ErrAuthRequired):
				u.NeededBy = append(u.NeededBy, r.entry.Key)
			}
		}
		if u.Entries > 0 {
			out = append(out, u)
		}
	}
	return out
}

// printTokens writes the plan's "tokens:" lines, one per variable:
// "  HF_TOKEN: set, used by 3 entries, rejected as invalid".
func printTokens(w io.Writer, uses []tokenUse) {
	if len(uses) == 0 {
		return
	}
	fmt.Fprintln(w, "tokens:")
	for _, u := range uses {
		state := "not set"
		if u.Set {
			state = "set"
		}
		line := fmt.Sprintf("%s: %s, used by %d entries", u.Var, state, u.Entries)
		if u.Entries == 1 {
			line = fmt.Sprintf("%s: %s, used by 1 entry", u.Var, state)
		}
		if u.Invalid {
			line += ", rejected as invalid"
		}
		if len(u.NeededBy) > 0 {
			line += "; needed by " + strings.Join(u.NeededBy, ", ")
		}
		if u.Note != "" {
			line += " (" + u.Note + ")"
		}
		fmt.Fprintf(w, "  %s\n", line)
	}
}
