package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"provision/resolver"
	"provision/store"
)

// runCmd provisions the manifest, then, when a command followed "--",
// decides whether to start it and execs it.
func (env *environment) runCmd(c *cli.Context) error {
	src, err := env.configSource(c)
	if err != nil {
		return err
	}
	results, cfg, err := env.provision(c, src)
	if len(env.command) > 0 && cfg != nil && cfg.DryRun && c.Context.Err() == nil {
		fmt.Fprintf(env.stderr, "provision: not starting %s: DRY_RUN is set, so this run "+
			"only planned; unset DRY_RUN to download and launch\n", env.command[0])
	}
	if len(env.command) == 0 || cfg == nil || cfg.DryRun || c.Context.Err() != nil {
		return err
	}
	plan := decideLaunch(results, env.command, cfg.LaunchAnyway)
	plan = blockOnLinks(plan, len(env.linkErrs), cfg.LaunchAnyway)
	env.logLaunch(cfg, plan)
	if cfg.JSON {
		env.events().emit("launch", "command", redactArgs(plan.argv), "launch", plan.launch,
			"reason", plan.why)
	} else if plan.why != "" {
		fmt.Fprintf(env.stderr, "provision: %s\n", plan.why)
	}
	if !plan.launch {
		return &exitError{code: exitFailed}
	}
	if !cfg.JSON && !cfg.Quiet {
		fmt.Fprintf(env.stdout, "provision: starting %s\n", shellQuote(plan.argv))
	}
	return env.launch(plan.argv)
}

// logLaunch appends the launch decision to the log file (closed by now):
// the last record a container's log shows before the UI's own output.
func (env *environment) logLaunch(cfg *config, plan launchPlan) {
	logger, closeLog, err := env.openLog(cfg)
	if err != nil {
		return
	}
	defer closeLog()
	logger.Info("launch", "command", shellQuote(plan.argv), "launch", plan.launch,
		"reason", plan.why)
}

// provision loads the manifest at src and provisions it: the body of run
// and demo. DRY_RUN=true turns it into plan. It returns the per-entry
// results (nil when nothing was attempted), the merged config (nil when
// it could not be built) and the error that sets the exit code.
func (env *environment) provision(c *cli.Context, src string) ([]*entryResult, *config, error) {
	ctx := c.Context
	m, err := resolver.LoadManifest(ctx, nil, src, env.getenv)
	if err != nil {
		return nil, nil, &exitError{code: exitUsage, msg: err.Error()}
	}
	cfg, err := env.loadConfig(c, &m.Settings)
	if err != nil {
		return nil, nil, err
	}
	if cfg.DryRun {
		return nil, cfg, env.plan(c, cfg, m, cfg.JSON)
	}
	// An unusable models folder fails the run before anything is resolved.
	if err := usableModelsDir(cfg.ModelsDir); err != nil {
		return nil, cfg, err
	}
	logger, closeLog, err := env.openLog(cfg)
	if err != nil {
		return nil, cfg, err
	}
	defer closeLog()
	logger.Info("start", "manifest", m.Origin, "entries", len(m.Entries), "config", cfg.describe())
	ev := env.events()
	if cfg.JSON {
		ev.emit("start", "manifest", m.Origin, "entries", len(m.Entries),
			"models_dir", cfg.ModelsDir, "link_dir", cfg.LinkDir, "layout", cfg.Layout,
			"connections", cfg.Connections, "max_rate", int64(cfg.MaxRate))
	}

	rep := logReporter{env.newReporter(cfg), logger}
	p, err := newPipeline(cfg, rep, logger)
	if err != nil {
		rep.close()
		return nil, cfg, err
	}
	start := time.Now()
	if !cfg.Quiet && !cfg.JSON {
		fmt.Fprintf(env.stdout, "provision: %d %s from %s into %s\n", len(m.Entries),
			plural(len(m.Entries), "entry", "entries"), m.Origin, cfg.ModelsDir)
	}

	results := p.resolveAll(ctx, m.Entries)
	for _, r := range results {
		env.reportResolved(cfg, rep, r)
	}
	p.checkPresent(ctx, results)
	for _, r := range results {
		for _, it := range r.items {
			if st, _, _ := it.snapshot(); st == statusPresent {
				logger.Info("present", "file", it.label, "entry", r.entry.Key, "bytes", it.size)
				if cfg.JSON {
					ev.emit("file_present", "entry", r.entry.Key, "file", it.label,
						"path", it.final, "size", it.size)
				}
			} else if it.replace != "" {
				env.reportReplace(cfg, rep, logger, it)
			}
		}
	}
	todo := pending(results)

	// Free space for everything still to come, before the first byte.
	if need := bytesToFetch(todo); need > 0 {
		if err := store.CheckSpace(cfg.ModelsDir, need); err != nil {
			logger.Error("free space", "need", need, "err", err)
			for _, it := range todo {
				it.set(statusFailed, fmt.Errorf("%s: not enough disk space: %w; free some "+
					"space or set PROVISION_MODELS_DIR to a larger volume", it.entry.Key, err))
				rep.finish(it)
			}
			todo = nil
		}
	}
	p.fetchAll(ctx, todo)
	rep.close()

	if ctx.Err() == nil {
		linked, errs := p.link(results)
		env.reportLinks(cfg, logger, linked, errs)
	}
	elapsed := time.Since(start)
	outErr := outcome(ctx, results, len(env.linkErrs))
	logger.Info("summary", summaryAttrs(results, elapsed, exitOf(outErr))...)
	if cfg.JSON {
		env.emitSummary(results, elapsed, exitOf(outErr))
	} else {
		env.printSummary(results, elapsed, cfg.Quiet)
	}
	return results, cfg, outErr
}

// reportResolved tells the reporter, the log and the event stream how one
// entry resolved.
func (env *environment) reportResolved(cfg *config, rep reporter, r *entryResult) {
	if r.err != nil {
		if cfg.JSON {
			env.events().emit("resolve_failed", "entry", r.entry.Key,
				"optional", r.entry.Optional, "error", r.err)
			return
		}
		rep.note(r.err.Error())
		return
	}
	if !cfg.JSON {
		return
	}
	var size int64
	files := make([]string, 0, len(r.items))
	for _, it := range r.items {
		files = append(files, it.label)
		if it.size > 0 {
			size += it.size
		}
	}
	env.events().emit("resolved", "entry", r.entry.Key, "category", r.entry.Category,
		"source", string(r.entry.Source), "files", files, "size", size)
}

// outcome turns the results and the number of failed links into the exit
// code.
func outcome(ctx context.Context, results []*entryResult, links int) error {
	if ctx.Err() != nil {
		return context.Canceled
	}
	var failed int
	for _, r := range results {
		if r.failed() {
			failed++
		}
	}
	var parts []string
	if failed > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d %s failed", failed, len(results),
			plural(len(results), "entry", "entries")))
	}
	if links > 0 {
		parts = append(parts, fmt.Sprintf("%d %s failed", links, plural(links, "link", "links")))
	}
	if len(parts) > 0 {
		return &exitError{code: exitFailed, msg: strings.Join(parts, " and ") + " (see above)"}
	}
	return nil
}

// exitOf is the exit code an outcome error leads to.
func exitOf(err error) int {
	var ex *exitError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ex):
		return ex.code
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	}
	return exitFailed
}

// isCanceled reports whether err comes from a stop signal.
func isCanceled(err error) bool {
	return errors.Is(err, context.Canceled)
}
