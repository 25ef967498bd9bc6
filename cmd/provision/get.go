package main

import (
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"provision/resolver"
	"provision/store"
)

func (env *environment) getCmd(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageErr("get takes one URL (or hf://owner/repo/file, civitai://VERSION)")
	}
	e, err := adHocEntry(c.Args().First())
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
	return outcome(c.Context, []*entryResult{r})
}

// adHocEntry turns the argument of get into an entry.
func adHocEntry(arg string) (*resolver.Entry, error) {
	e := &resolver.Entry{Key: "get", Name: "get", Category: "checkpoints"}
	switch {
	case strings.HasPrefix(arg, "hf://"):
		rest := strings.TrimPrefix(arg, "hf://")
		parts := strings.SplitN(rest, "/", 3)
		if len(parts) != 3 || parts[2] == "" {
			return nil, usageErr("hf:// needs owner/repo/path, got %q", arg)
		}
		e.Source, e.Repo, e.File = resolver.HuggingFace, parts[0]+"/"+parts[1], parts[2]
	case strings.HasPrefix(arg, "civitai://"):
		e.Source, e.VersionID = resolver.CivitAI, strings.TrimPrefix(arg, "civitai://")
	case strings.HasPrefix(arg, "http://"), strings.HasPrefix(arg, "https://"):
		e.Source, e.URL = resolver.URL, arg
	default:
		return nil, usageErr("%q is not a URL; use http(s)://…, hf://owner/repo/file "+
			"or civitai://VERSION", arg)
	}
	return e, nil
}
