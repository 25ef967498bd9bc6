package main

import (
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"provision/resolver"
	"provision/store"
)

func (env *environment) getCmd(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageErr("get takes one URL (or hf://owner/repo/file, civitai://VERSION)")
	}
	e, err := adHocEntry(c.Args().First(), env.getenv)
	if err != nil {
		return err
	}
	cfg, err := env.loadConfig(c, nil)
	if err != nil {
		return err
	}
	logger, closeLog, err := env.openLog(cfg)
	if err != nil {
		return err
	}
	defer closeLog()
	rep := env.newReporter(cfg)
	p, err := newPipeline(cfg, rep, logger)
	if err != nil {
		return err
	}
	start := time.Now()
	r := &entryResult{entry: e}
	targets, err := p.res.Resolve(c.Context, e)
	if err != nil {
		rep.close()
		return &exitError{code: exitFailed, msg: err.Error()}
	}
	if len(targets) != 1 {
		rep.close()
		return usageErr("get fetches one file; %s names %d (use run with a manifest)",
			c.Args().First(), len(targets))
	}
	t := targets[0]
	out := c.String("output")
	if out == "" {
		out = filepath.Base(t.Rel) // already a safe single name
	}
	if out, err = filepath.Abs(out); err != nil {
		return usageErr("output: %v", err)
	}
	it := &item{entry: e, target: t, final: out, label: filepath.Base(out), size: t.Size}
	r.items = []*item{it}
	if ok, _ := store.Present(c.Context, out, t.Size, t.SHA256); ok {
		it.set(statusPresent, nil)
	} else {
		if err := ensureDir(filepath.Dir(out)); err != nil {
			return &exitError{code: exitFailed, msg: err.Error()}
		}
		p.fetchAll(c.Context, []*item{it})
	}
	rep.close()
	env.printSummary([]*entryResult{r}, time.Since(start), cfg.Quiet)
	return outcome(c.Context, []*entryResult{r}, 0)
}

// adHocEntry turns the argument of get into an entry, read the way a bare
// string entry of a manifest is.
func adHocEntry(arg string, getenv func(string) string) (*resolver.Entry, error) {
	e, err := resolver.ParseRef("get", "checkpoints", arg, getenv)
	if err != nil {
		return nil, usageErr("%v", err)
	}
	return e, nil
}
