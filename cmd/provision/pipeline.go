package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"sort"
	"sync"
	"time"

	"provision/engine"
	"provision/resolver"
	"provision/store"
)

// itemStatus is where one file stands.
type itemStatus int

const (
	statusPending itemStatus = iota
	statusActive
	statusPresent // was already there, verified
	statusDone    // fetched and verified in this run
	statusFailed
	statusInterrupted // stopped by a signal; the .part and journal are kept
)

func (s itemStatus) String() string {
	return [...]string{"pending", "downloading", "present", "done", "FAILED", "interrupted"}[s]
}

// item is one file of one entry, from resolution to its final path.
type item struct {
	entry  *resolver.Entry
	target *resolver.Target
	final  string // absolute final path
	label  string // "<category folder>/<rel>", how logs name the file
	prog   engine.Progress

	mu       sync.Mutex
	status   itemStatus
	err      error
	size     int64
	replace  string // why a file at final does not match ("size differs"); "" if none
	resumed  int64  // bytes a .part held when this run started the file
	fetched  int64
	started  time.Time
	finished time.Time
}

func (it *item) set(status itemStatus, err error) {
	it.mu.Lock()
	defer it.mu.Unlock()
	it.status, it.err = status, err
	switch status {
	case statusActive:
		it.started = time.Now()
	case statusDone, statusFailed, statusPresent, statusInterrupted:
		it.finished = time.Now()
	}
}

func (it *item) snapshot() (itemStatus, error, time.Duration) {
	it.mu.Lock()
	defer it.mu.Unlock()
	var d time.Duration
	if !it.started.IsZero() {
		end := it.finished
		if end.IsZero() {
			end = time.Now()
		}
		d = end.Sub(it.started)
	}
	return it.status, it.err, d
}

// entryResult is one manifest entry: the files it resolved to, or why it
// could not be resolved.
type entryResult struct {
	entry *resolver.Entry
	items []*item
	err   error
}

// failed reports whether the entry, or any of its files, failed.
func (r *entryResult) failed() bool {
	if r.err != nil {
		return true
	}
	for _, it := range r.items {
		if st, _, _ := it.snapshot(); st == statusFailed {
			return true
		}
	}
	return false
}

// pipeline runs resolve -> place -> fetch -> finish for a manifest.
type pipeline struct {
	cfg    *config
	layout store.Layout
	res    *resolver.Resolver
	eng    *engine.Engine
	rep    reporter
	log    *slog.Logger
}

func newPipeline(cfg *config, rep reporter, log *slog.Logger) (*pipeline, error) {
	layout, err := store.NewLayout(cfg.Layout, cfg.ModelsDir, cfg.LinkDir, cfg.Folders)
	if err != nil {
		return nil, usageErr("settings: %v", err)
	}
	p := &pipeline{
		cfg:    cfg,
		layout: layout,
		res: resolver.New(resolver.Config{
			HFEndpoint:      cfg.HFEndpoint,
			CivitAIEndpoint: cfg.CivitAIEndpoint,
			HFToken:         cfg.HFToken,
			CivitAIToken:    cfg.CivitAIToken,
			UserAgent:       userAgent,
		}),
		eng: engine.New(tuneEngine(engine.Config{
			Connections: cfg.Connections,
			MaxRate:     cfg.MaxRate,
			UserAgent:   userAgent,
			// Commits are cheap (the store still syncs once per 8 MiB
			// in all); committing every MiB halves what a kill -9
			// costs (bench/crash: 84 -> 44 MiB per kill at 16 conns).
			CommitEvery: 1 << 20,
		})),
		rep: rep,
		log: log,
	}
	return p, nil
}

const userAgent = "provision/0.1"

// resolveAll checks the tokens, then resolves every entry, several at a
// time, keeping manifest order.
func (p *pipeline) resolveAll(ctx context.Context, entries []*resolver.Entry) []*entryResult {
	tokenErr := p.checkTokens(ctx, entries)
	results := make([]*entryResult, len(entries))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, e := range entries {
		results[i] = &entryResult{entry: e}
		if err := tokenErr[resolver.TokenVar(e)]; err != nil {
			results[i].err = &resolver.EntryError{Key: e.Key, Err: err}
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(r *entryResult) {
			defer wg.Done()
			defer func() { <-sem }()
			p.resolveOne(ctx, r)
		}(results[i])
	}
	wg.Wait()
	markDuplicates(results)
	return results
}

// markDuplicates fails every entry whose file resolved to a path an
// earlier entry already claims: names that come from the server (CivitAI
// metadata, Content-Disposition) can collide where the manifest cannot
// show it, and two entries must never take turns overwriting one file.
func markDuplicates(results []*entryResult) {
	owner := map[string]*resolver.Entry{}
	for _, r := range results {
		if r.err != nil {
			continue
		}
		for _, it := range r.items {
			if first, ok := owner[it.final]; ok && first != r.entry {
				r.err = &resolver.EntryError{Key: r.entry.Key,
					Err:  fmt.Errorf("resolves to %s, the file of %s", it.label, first.Key),
					Hint: "set filename on one of them so each has its own file"}
				r.items = nil
				break
			}
		}
		for _, it := range r.items {
			owner[it.final] = r.entry
		}
	}
}

// checkTokens asks HuggingFace whether HF_TOKEN is valid before any entry
// uses it, so that a bad token fails those entries up front with one clear
// reason while the others go ahead. It returns the failure per token
// variable. A hub that cannot be reached says nothing here: resolving will.
func (p *pipeline) checkTokens(ctx context.Context, entries []*resolver.Entry) map[string]error {
	out := map[string]error{}
	if p.cfg.HFToken == "" {
		return out
	}
	for _, e := range entries {
		if resolver.TokenVar(e) != "HF_TOKEN" {
			continue
		}
		err := p.res.CheckHFToken(ctx)
		if errors.Is(err, resolver.ErrInvalidToken) {
			out["HF_TOKEN"] = err
			p.log.Warn("token check", "token", "HF_TOKEN", "err", err)
		}
		break
	}
	return out
}

func (p *pipeline) resolveOne(ctx context.Context, r *entryResult) {
	targets, err := p.res.Resolve(ctx, r.entry)
	if err != nil {
		r.err = err
		p.log.Warn("resolve failed", "entry", r.entry.Key, "err", err)
		return
	}
	for _, t := range targets {
		final, err := p.layout.Final(r.entry.Category, t.Rel)
		if err != nil {
			r.err = fmt.Errorf("%s: %w", r.entry.Key, err)
			r.items = nil
			return
		}
		it := &item{entry: r.entry, target: t, final: final, size: t.Size,
			label: path.Join(p.layout.Folders[r.entry.Category], t.Rel)}
		r.items = append(r.items, it)
	}
	p.log.Info("resolved", "entry", r.entry.Key, "files", len(targets))
}

// checkPresent marks the files that are already in place and verified.
func (p *pipeline) checkPresent(ctx context.Context, results []*entryResult) {
	for _, r := range results {
		for _, it := range r.items {
			if ctx.Err() != nil {
				return
			}
			t := it.target
			ok, err := store.PresentAs(ctx, it.final, store.Identity{
				Origin: t.Origin, Size: t.Size, SHA256: t.SHA256, ETag: t.ETag})
			if err != nil {
				p.log.Warn("check present", "file", it.label, "err", err)
				continue
			}
			if ok {
				it.set(statusPresent, nil)
			} else {
				it.replace = replaceReason(it.final, it.target.Size, it.target.SHA256)
			}
		}
	}
}

// pending returns the files still to fetch.
func pending(results []*entryResult) []*item {
	var out []*item
	for _, r := range results {
		for _, it := range r.items {
			if st, _, _ := it.snapshot(); st == statusPending {
				out = append(out, it)
			}
		}
	}
	return out
}

// bytesToFetch sums what the pending files still need, counting bytes
// already in their .part files as present.
func bytesToFetch(items []*item) int64 {
	var need int64
	for _, it := range items {
		if it.target.Size <= 0 {
			continue
		}
		need += store.Remaining(it.final, it.target.Size)
	}
	return need
}

// fetchAll downloads the pending files; all of them share the engine's
// connection budget, so several files stream at once.
func (p *pipeline) fetchAll(ctx context.Context, items []*item) {
	// Files in flight are bounded so a repo of thousands of files does not
	// open thousands of .part files at once; the engine still keeps every
	// connection busy across them.
	sem := make(chan struct{}, max(p.cfg.Connections, 4))
	var wg sync.WaitGroup
	// Large files first: the longest transfer decides when the UI can start.
	sort.SliceStable(items, func(i, j int) bool { return items[i].target.Size > items[j].target.Size })
	for _, it := range items {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			it.set(statusInterrupted, nil)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			err := p.fetchOne(ctx, it)
			if err != nil && ctx.Err() != nil {
				it.set(statusInterrupted, nil)
				p.log.Info("file interrupted", "file", it.label, "entry", it.entry.Key,
					"fetched", it.fetched)
			} else if err != nil {
				it.set(statusFailed, err)
				_, _, d := it.snapshot()
				p.log.Error("file failed", "file", it.label, "entry", it.entry.Key,
					"fetched", it.fetched, "seconds", d.Seconds(), "err", err)
			} else {
				it.set(statusDone, nil)
				_, _, d := it.snapshot()
				p.log.Info("file done", "file", it.label, "entry", it.entry.Key, "bytes", it.size,
					"fetched", it.fetched, "seconds", d.Seconds())
			}
			p.rep.finish(it)
		}()
	}
	wg.Wait()
}

// fetchOne moves one file from nothing (or a resumable .part) to its
// verified final path.
func (p *pipeline) fetchOne(ctx context.Context, it *item) error {
	t := it.target
	part, err := store.OpenPart(it.final, store.Identity{
		Origin: t.Origin, Size: t.Size, SHA256: t.SHA256, ETag: t.ETag,
	})
	if err != nil {
		return fmt.Errorf("%s: %w", it.entry.Key, err)
	}
	have := part.Have()
	it.resumed = have.Total() // the engine's Progress learns it only inside Fetch
	it.set(statusActive, nil)
	p.rep.start(it)
	if have.Total() > 0 {
		p.log.Info("resuming", "file", it.label, "bytes_on_disk", have.Total())
	}
	// A disk that cannot hold the file says so before the first byte.
	if err := part.Allocated(ctx); err != nil {
		p.abandon(part)
		return fmt.Errorf("%s: %w", it.entry.Key, err)
	}
	res, err := p.eng.Fetch(ctx, &engine.Job{
		Name:     it.label,
		URL:      t.URL,
		Header:   t.Header,
		Size:     t.Size,
		Have:     have,
		Out:      part,
		Refresh:  t.Refresh,
		Progress: &it.prog,
		IfMatch:  t.IfMatch,
	})
	p.log.Debug("fetch result", "file", it.label, "requests", res.Requests,
		"retries", res.Retries, "refreshes", res.Refreshes, "range_ignored", res.RangeIgnored)
	it.mu.Lock()
	it.fetched = res.Fetched
	if res.Size > 0 {
		it.size = res.Size
	}
	it.mu.Unlock()
	if errors.Is(err, engine.ErrRemoteChanged) {
		// The bytes on disk are of another version: never resume them.
		_ = part.Discard()
	} else if err != nil {
		p.abandon(part)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", it.entry.Key, err)
	}
	// Finish ends the part either way: bytes that fail verification are
	// removed, anything else (a canceled hash) is kept for resume.
	if err := part.Finish(ctx); err != nil {
		return verifyFailed(it.entry, err)
	}
	return nil
}

// abandon keeps a .part worth resuming and removes one with nothing in it.
func (p *pipeline) abandon(part *store.Part) {
	if part.Have().Total() == 0 {
		_ = part.Discard()
		return
	}
	if err := part.Close(); err != nil {
		p.log.Warn("close part", "err", err)
	}
}

// link makes the UI's folders point at the models folder. It returns what
// it did at each path and each failure on its own (one per UI folder).
func (p *pipeline) link(results []*entryResult) ([]store.Linked, []error) {
	if p.layout.LinkDir == "" {
		return nil, nil
	}
	seen := map[string]bool{}
	var cats []string
	for _, r := range results {
		if !seen[r.entry.Category] {
			seen[r.entry.Category] = true
			cats = append(cats, r.entry.Category)
		}
	}
	linked, err := p.layout.Link(cats)
	for _, l := range linked {
		p.log.Info("link", "path", l.Path, "target", l.Target, "action", string(l.Action))
	}
	if err == nil {
		return linked, nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return linked, j.Unwrap()
	}
	return linked, []error{err}
}

// errInterrupted marks a run stopped by a signal.
var errInterrupted = errors.New("interrupted")

// ensureDir creates the models folder so free space can be measured.
func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create models folder: %w", err)
	}
	return nil
}
