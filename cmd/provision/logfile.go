package main

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
)

// openLog returns the run's logger: a text log in cfg.LogFile when set,
// else a logger that drops everything (the terminal gets the reporter's
// lines, not log records).
func (env *environment) openLog(cfg *config) (*slog.Logger, func(), error) {
	level := slog.LevelInfo
	if cfg.Verbose {
		level = slog.LevelDebug
	}
	if cfg.LogFile == "" {
		return slog.New(slog.NewTextHandler(io.Discard, nil)), func() {}, nil
	}
	if err := os.MkdirAll(filepath.Dir(cfg.LogFile), 0o755); err != nil {
		return nil, nil, usageErr("log-file: %v", err)
	}
	f, err := os.OpenFile(cfg.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, usageErr("log-file: %v", err)
	}
	log := slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: level}))
	return log, func() { f.Close() }, nil
}

// logReporter records each file's start in the log before passing it on
// (the pipeline logs how each file ended).
type logReporter struct {
	reporter
	log *slog.Logger
}

func (r logReporter) start(it *item) {
	r.log.Info("file start", "file", it.label, "entry", it.entry.Key, "bytes", it.target.Size,
		"resume_bytes", it.prog.Done())
	r.reporter.start(it)
}
