// Package bench measures provision's download path the way a user runs it:
// the engine writing through store.Part into a folder, one Engine for all
// files, with the sha256 checked when it is known. It reports wall time,
// the process's CPU time and its peak RSS, so that a server run in another
// process (Server) is not counted. Nothing here prints; cmd/provision's
// bench command and bench/peers.sh present the figures.
package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"provision/engine"
	"provision/internal/netx"
	"provision/store"
)

// File is one download of a run.
type File struct {
	URL    string
	Size   int64  // exact size in bytes (> 0)
	SHA256 string // lowercase hex; "" skips the hash check (the size is still checked)
}

// Options describe a run.
type Options struct {
	Files []File

	// Dir is the folder the files are written to, as "<index>-<URL base
	// name>", replacing any such file of an earlier run; they are kept
	// after the run. "" makes a fresh folder under /dev/shm (the system
	// temp dir when there is none) and removes it after the run.
	Dir string

	Connections int     // the engine's connection budget (0 = engine default)
	MaxRate     float64 // bytes/s cap of all connections (0 = none)

	// ChunkSize, when > 0, overrides the engine's chunk size.
	ChunkSize int64
}

// Result holds a run's figures. CPU and PeakRSS are the whole process's
// (getrusage): a run that shares its process with a server counts both.
type Result struct {
	Bytes    int64         // bytes of the files
	Fetched  int64         // bytes received, counting any received twice
	Requests int64         // HTTP requests sent
	Retries  int64         // chunk retries
	Wall     time.Duration // from the first open to the last verified file
	CPU      time.Duration // user + system CPU of the process during the run
	PeakRSS  int64         // the process's peak resident set, bytes (0 if unknown)

	// Finish is the longest Part.Finish of the run: the time from a
	// file's last byte to its verified final name, which hashing while
	// downloading is meant to keep short.
	Finish time.Duration
}

// MBps returns the run's throughput in MB/s (10^6 bytes per second).
func (r Result) MBps() float64 { return float64(r.Bytes) / r.Wall.Seconds() / 1e6 }

// CPUPerGiB returns the CPU-seconds the process spent per GiB of files.
func (r Result) CPUPerGiB() float64 { return r.CPU.Seconds() / (float64(r.Bytes) / (1 << 30)) }

// Run downloads every file of o into o.Dir at once through one Engine, as
// the run command does: store.OpenPart, waiting for its preallocation, the
// engine's Fetch, then Part.Finish (sync, size, sha256 from the prefix
// hashed while downloading, rename). It returns when all files are
// verified, or with the first error (the other downloads are cancelled).
func Run(ctx context.Context, o Options) (Result, error) {
	if len(o.Files) == 0 {
		return Result{}, errors.New("bench run: no files")
	}
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp(tempRoot(), "provision-bench-")
		if err != nil {
			return Result{}, fmt.Errorf("bench run: make folder: %w", err)
		}
		defer os.RemoveAll(d)
		dir = d
	}
	eng := engine.New(engine.Config{Connections: o.Connections, MaxRate: o.MaxRate,
		ChunkSize: o.ChunkSize})

	var res Result
	for _, f := range o.Files {
		res.Bytes += f.Size
	}
	cpu0 := cpuTime()
	start := time.Now()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(o.Files))
	finish := make([]time.Duration, len(o.Files))
	var wg sync.WaitGroup
	for i, f := range o.Files {
		final := filepath.Join(dir, strconv.Itoa(i)+"-"+baseName(f.URL))
		for _, p := range []string{final, final + store.PartSuffix, final + store.JournalSuffix} {
			os.Remove(p) // an earlier run's: every run starts from nothing
		}
		wg.Go(func() {
			if finish[i], errs[i] = fetchOne(ctx, eng, final, f); errs[i] != nil {
				cancel()
			}
		})
	}
	wg.Wait()
	res.Finish = slices.Max(finish)
	res.Wall = time.Since(start)
	res.CPU = cpuTime() - cpu0
	res.PeakRSS = peakRSS()
	st := eng.Stats()
	res.Fetched, res.Requests, res.Retries = st.Fetched, st.Requests, st.Retries
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return res, err
		}
	}
	return res, errors.Join(errs...)
}

// fetchOne is the pipeline's path for one file. It returns how long
// Part.Finish took.
func fetchOne(ctx context.Context, eng *engine.Engine, final string,
	f File) (time.Duration, error) {
	part, err := store.OpenPart(final, store.Identity{Origin: netx.Redact(f.URL),
		Size: f.Size, SHA256: f.SHA256})
	if err != nil {
		return 0, fmt.Errorf("bench run: %w", err)
	}
	if err := part.Allocated(ctx); err != nil {
		part.Discard()
		return 0, fmt.Errorf("bench run: %w", err)
	}
	_, err = eng.Fetch(ctx, &engine.Job{Name: filepath.Base(final), URL: f.URL,
		Size: f.Size, Have: part.Have(), Out: part})
	if err != nil {
		part.Discard()
		return 0, fmt.Errorf("bench run: %w", err)
	}
	t := time.Now()
	if err := part.Finish(ctx); err != nil {
		return 0, fmt.Errorf("bench run: %w", err)
	}
	return time.Since(t), nil
}

// baseName is the last path segment of a URL, for the file's name.
func baseName(raw string) string {
	p := raw
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	b := path.Base(p)
	if b == "." || b == "/" || b == "" {
		return "file"
	}
	return b
}

// tempRoot is /dev/shm when it is a folder, else the system temp dir: the
// benchmarks write to RAM to keep disk noise out.
func tempRoot() string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		return "/dev/shm"
	}
	return os.TempDir()
}
