package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/urfave/cli/v2"

	"provision/resolver"
	"provision/store"
)

func (env *environment) runCmd(c *cli.Context) error {
	src, err := env.configSource(c)
	if err != nil {
		return err
	}
	return env.provision(c, src)
}

// provision loads the manifest at src and provisions it: the body of run
// and demo. DRY_RUN=true turns it into plan.
func (env *environment) provision(c *cli.Context, src string) error {
	ctx := c.Context
	m, err := resolver.LoadManifest(ctx, http.DefaultClient, src, env.getenv)
	if err != nil {
		return &exitError{code: exitUsage, msg: err.Error()}
	}
	cfg, err := env.loadConfig(c, &m.Settings)
	if err != nil {
		return err
	}
	if cfg.DryRun {
		return env.plan(c, cfg, m, false)
	}
	logger, closeLog, err := env.openLog(cfg)
	if err != nil {
		return err
	}
	defer closeLog()
	logger.Info("start", "manifest", m.Origin, "entries", len(m.Entries), "config", cfg.describe())

	rep := env.newReporter(cfg)
	p, err := newPipeline(cfg, rep, logger)
	if err != nil {
		return err
	}
	start := time.Now()
	if !cfg.Quiet {
		fmt.Fprintf(env.stdout, "provision: %d entries from %s into %s\n",
			len(m.Entries), m.Origin, cfg.ModelsDir)
	}

	results := p.resolveAll(ctx, m.Entries)
	for _, r := range results {
		if r.err != nil {
			rep.note(fmt.Sprintf("cannot resolve %v", r.err))
		}
	}
	if err := ensureDir(cfg.ModelsDir); err != nil {
		return &exitError{code: exitFailed, msg: err.Error()}
	}
	p.checkPresent(ctx, results)
	todo := pending(results)

	// Free space for everything still to come, before the first byte.
	if need := bytesToFetch(todo); need > 0 {
		if err := store.CheckSpace(cfg.ModelsDir, need); err != nil {
			for _, it := range todo {
				it.set(statusFailed, fmt.Errorf("%s: %w", it.entry.Key, err))
			}
			todo = nil
		}
	}
	p.fetchAll(ctx, todo)
	rep.close()

	if ctx.Err() == nil {
		if err := p.link(results); err != nil {
			logger.Error("link", "err", err)
			fmt.Fprintf(env.stderr, "provision: links: %v\n", err)
		}
	}
	env.printSummary(results, time.Since(start), cfg.Quiet)
	return outcome(ctx, results)
}

// outcome turns the results into the exit code.
func outcome(ctx context.Context, results []*entryResult) error {
	if ctx.Err() != nil {
		return context.Canceled
	}
	var failed int
	for _, r := range results {
		if r.failed() {
			failed++
		}
	}
	if failed > 0 {
		return &exitError{code: exitFailed,
			msg: fmt.Sprintf("%d of %d entries failed (see above)", failed, len(results))}
	}
	return nil
}

// isCanceled reports whether err comes from a stop signal.
func isCanceled(err error) bool {
	return errors.Is(err, context.Canceled)
}
