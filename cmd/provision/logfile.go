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
