package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"provision/internal/span"
)

// Checkpoint pacing: a Commit asks for a checkpoint (data sync, then
// journal) once this many committed bytes are not yet durable, or once
// this long has passed since the last one. With the engine committing at
// least every ~8 MiB per connection, a crash loses about that much per
// connection.
const (
	syncBytes    = 8 << 20
	syncInterval = time.Second
)

// allocStep is how much one fallocate call reserves, so that Close never
// waits long for a preallocation in progress.
const allocStep = 256 << 20

// Suffixes of the files that live beside a final path while it downloads.
const (
	PartSuffix    = ".part"         // the data: <final>.part
	JournalSuffix = ".part.journal" // what of it is durable: <final>.part.journal
)

// options are the knobs tests turn; openPart with defaults() is OpenPart.
type options struct {
	syncBytes    int64
	syncInterval time.Duration
	now          func() time.Time

	// Fault-injection hooks around the file; the defaults call the OS.
	writeAt   func(f *os.File, b []byte, off int64) (int, error)
	datasync  func(f *os.File) error
	fallocate func(f *os.File, off, n int64) error
	sparse    func(f *os.File) bool // skip fallocate for this file
	idleHash  bool                  // tests: leave all hashing to Finish
}

func defaults() options {
	return options{
		syncBytes:    syncBytes,
		syncInterval: syncInterval,
		now:          time.Now,
		writeAt:      (*os.File).WriteAt,
		datasync:     datasync,
		fallocate:    fallocate,
		sparse:       onTmpfs,
	}
}

// Part is a download in progress: <final>.part, its journal and its lock.
// It implements the engine's Output. WriteAt and Commit are safe for
// concurrent use (for disjoint ranges); Have and Durable may be called at
// any time; Finish, Close and Discard end the Part and must not race with
// WriteAt or Commit.
//
// Errors from the disk come back unchanged from WriteAt; a failed
// preallocation (ENOSPC) or a failed sync is sticky and returned by every
// later WriteAt, Commit and Finish, so the caller stops the file.
type Part struct {
	final   string // where Finish renames the file
	path    string // final + PartSuffix
	journal string // final + JournalSuffix
	id      Identity
	f       *os.File
	o       options

	ckMu sync.Mutex // one checkpoint at a time; guards jn
	jn   journal

	mu       sync.Mutex
	have     span.Set // committed: loaded from the journal plus Commits of this run
	durable  span.Set // what the journal on disk says
	unsynced int64    // committed bytes since the last checkpoint began
	lastSync time.Time
	err      error // sticky, see above
	noSync   bool  // a sync or journal write failed: never journal again
	closed   bool

	stop      chan struct{}
	kick      chan struct{} // wakes the checkpointer
	hashKick  chan struct{} // wakes the prefix hasher
	wg        sync.WaitGroup
	allocDone chan struct{} // closed when preallocation has ended
	hash      *prefixHash   // nil when the sha256 is not known
}

// OpenPart starts or resumes the download of final. It creates final's
// folder, opens final+".part" without following a symbolic link (a link
// planted there is refused with ErrSymlink, as is a file with other hard
// links), and takes an exclusive non-blocking lock on it: a second writer,
// in this process or another, gets an error wrapping ErrLocked.
//
// The journal final+".part.journal" is loaded. When it is intact, its
// identity is Same as id and the .part is long enough, Have returns the
// ranges it records; otherwise the .part is emptied, the journal removed,
// and the download starts from nothing. A file larger than one checkpoint
// (8 MiB) gets its journal at once, before any of its data, so that the
// progress of a download that fills the disk can still be recorded.
//
// When id.Size is known, the file is preallocated in the background
// (fallocate, or a sparse ftruncate where unsupported and on tmpfs),
// overlapped with the first requests; Allocated waits for it. When
// id.SHA256 is known, the contiguous prefix is hashed in the background as
// it grows.
func OpenPart(final string, id Identity) (*Part, error) {
	return openPart(final, id, defaults())
}

func openPart(final string, id Identity, o options) (*Part, error) {
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return nil, wrapPath(err, filepath.Dir(final), "create folder %s", filepath.Dir(final))
	}
	p := &Part{
		final: final, path: final + PartSuffix, journal: final + JournalSuffix,
		id: id, o: o, jn: journal{path: final + JournalSuffix},
		stop: make(chan struct{}), kick: make(chan struct{}, 1),
		hashKick: make(chan struct{}, 1), allocDone: make(chan struct{}),
	}
	f, fi, err := openLocked(p.path)
	if err != nil {
		return nil, err
	}
	p.f = f

	// Resume only what an intact journal of the same identity vouches for.
	st, slot, jerr := readJournal(p.journal)
	var end int64
	if len(st.have) > 0 {
		end = st.have[len(st.have)-1].End
	}
	if jerr == nil && id.Same(st.id) && end <= fi.Size() {
		p.have, p.durable = st.have, st.have
		p.jn.open(slot, st.seq)
	} else {
		if err := p.restart(); err != nil {
			p.release()
			return nil, err
		}
		fi = nil
	}
	if p.jn.f == nil && id.Size > o.syncBytes {
		// A file that will checkpoint gets its journal now, before its
		// data takes the disk: checkpoints rewrite the journal in place,
		// so the progress of a download that fills the disk is still
		// recorded. (Smaller files risk less than the fsyncs cost.)
		if err := p.jn.write(id, p.have); err != nil {
			p.release()
			return nil, err
		}
	}
	p.lastSync = o.now()

	p.wg.Add(1)
	go p.checkpointer()
	if id.SHA256 != "" {
		p.hash = newPrefixHash()
		if !o.idleHash {
			p.wg.Add(1)
			go p.hasher()
			p.hashKick <- struct{}{} // a resumed prefix is hashed from byte 0
		}
	}
	allocated := int64(0)
	if fi != nil {
		allocated = statOf(fi).allocated
	}
	if id.Size > 0 && allocated < id.Size {
		go p.preallocate(id.Size)
	} else {
		close(p.allocDone)
	}
	return p, nil
}

// openLocked opens path for writing, refusing links, and locks it. The
// previous holder may rename or remove the file between our open and our
// lock; then what we locked is no longer path, so we try again.
func openLocked(path string) (*os.File, os.FileInfo, error) {
	for range 5 {
		if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			return nil, nil, fmt.Errorf("open %s: %w", path, ErrSymlink)
		}
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|oNoFollow, 0o644)
		if errors.Is(err, syscall.ELOOP) {
			return nil, nil, fmt.Errorf("open %s: %w", path, ErrSymlink)
		}
		if err != nil {
			return nil, nil, wrapPath(err, path, "open %s", path)
		}
		if err := lockFile(f); err != nil {
			f.Close()
			return nil, nil, wrapPath(err, path, "lock %s", path)
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, nil, wrapPath(err, path, "stat %s", path)
		}
		if !fi.Mode().IsRegular() {
			f.Close()
			return nil, nil, fmt.Errorf("open %s: not a regular file", path)
		}
		if n := statOf(fi).nlink; n > 1 {
			f.Close()
			return nil, nil, fmt.Errorf("open %s: the file has %d hard links; "+
				"refusing to write through it", path, n)
		}
		if now, err := os.Lstat(path); err == nil && os.SameFile(fi, now) {
			return f, fi, nil
		}
		f.Close()
	}
	return nil, nil, fmt.Errorf("lock %s: the file keeps being replaced", path)
}

// restart forgets everything: the .part is emptied (so stale bytes can
// never become part of a file of unknown size) and the journal removed
// before anything else is written, so it cannot vouch for new bytes.
func (p *Part) restart() error {
	if err := os.Remove(p.journal); err != nil && !errors.Is(err, os.ErrNotExist) {
		return wrapPath(err, p.journal, "remove journal %s", p.journal)
	}
	if err := p.f.Truncate(0); err != nil {
		return wrapPath(err, p.path, "truncate %s", p.path)
	}
	p.have, p.durable = nil, nil
	return nil
}

// Final returns the path the file will have once finished.
func (p *Part) Final() string { return p.final }

// Path returns the path of the .part file.
func (p *Part) Path() string { return p.path }

// Identity returns the identity the Part was opened with.
func (p *Part) Identity() Identity { return p.id }

// Have returns the committed ranges: those the journal vouched for at
// open plus every range Commit accepted since. The engine fetches the rest.
func (p *Part) Have() span.Set {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append(span.Set(nil), p.have...)
}

// Durable returns the ranges the journal on disk records: synced data only.
func (p *Part) Durable() span.Set {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append(span.Set(nil), p.durable...)
}

// check refuses writes and commits after the end, after a sticky error,
// and outside [0, Size) when the size is known.
func (p *Part) check(off, n int64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed:
		return fmt.Errorf("write %s: %w", p.path, ErrClosed)
	case p.err != nil:
		return p.err
	case off < 0 || n < 0 || (p.id.Size >= 0 && off+n > p.id.Size):
		return fmt.Errorf("write %s: bytes %d-%d outside the file's %d bytes",
			p.path, off, off+n-1, p.id.Size)
	}
	return nil
}

// WriteAt writes b at off with a positioned write. It is safe for
// concurrent use on disjoint ranges; an error from the disk (ENOSPC, EIO)
// is returned unchanged.
func (p *Part) WriteAt(b []byte, off int64) (int, error) {
	if err := p.check(off, int64(len(b))); err != nil {
		return 0, err
	}
	return p.o.writeAt(p.f, b, off)
}

// Commit records that r has been written (its WriteAt calls returned). It
// does not sync: every syncBytes committed bytes or syncInterval, it wakes
// the background checkpointer, which syncs the data and then rewrites the
// journal. It returns the sticky error of a failed sync or preallocation.
func (p *Part) Commit(r span.Range) error {
	if err := p.check(r.Start, r.Len()); err != nil {
		return err
	}
	if r.Len() == 0 {
		return nil
	}
	p.mu.Lock()
	before := p.have.Prefix()
	p.have = p.have.Add(r)
	p.unsynced += r.Len()
	due := p.unsynced >= p.o.syncBytes || p.o.now().Sub(p.lastSync) >= p.o.syncInterval
	grew := p.have.Prefix() > before
	p.mu.Unlock()

	if due {
		signal(p.kick)
	}
	if grew && p.hash != nil {
		signal(p.hashKick)
	}
	return nil
}

// signal wakes a goroutine without blocking; wake-ups coalesce.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// fail records a sticky error, keeping the first.
func (p *Part) fail(err error, broken bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		p.err = err
	}
	if broken {
		p.noSync = true
	}
	return err
}

// checkpointer runs checkpoints when Commit asks, one at a time.
func (p *Part) checkpointer() {
	defer p.wg.Done()
	for {
		select {
		case <-p.stop:
			return
		case <-p.kick:
			p.checkpoint()
		}
	}
}

// checkpoint makes the committed ranges durable: it snapshots them, syncs
// the data, and only then writes the journal, so the journal never claims
// bytes that are not on disk. After a failed data sync (whose lost pages a
// later sync might not report) the journal is never written again.
func (p *Part) checkpoint() error {
	p.ckMu.Lock()
	defer p.ckMu.Unlock()
	p.mu.Lock()
	if p.noSync {
		p.mu.Unlock()
		return nil
	}
	snap := p.have
	if p.unsynced == 0 {
		p.mu.Unlock()
		return nil // the journal already says all of it
	}
	p.unsynced = 0
	p.lastSync = p.o.now()
	p.mu.Unlock()

	if err := p.o.datasync(p.f); err != nil {
		return p.fail(wrapPath(err, p.path, "sync %s", p.path), true)
	}
	if err := p.jn.write(p.id, snap); err != nil {
		// The older state is still intact; a later checkpoint may retry.
		return p.fail(err, false)
	}
	p.mu.Lock()
	p.durable = snap
	p.mu.Unlock()
	return nil
}

// end marks the Part closed and stops its goroutines. It reports false
// when the Part was already ended.
func (p *Part) end() bool {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return false
	}
	p.closed = true
	p.mu.Unlock()
	close(p.stop)
	p.wg.Wait()
	<-p.allocDone
	return true
}

// release closes the journal, then unlocks and closes the .part file.
func (p *Part) release() error {
	p.jn.close()
	uerr := unlockFile(p.f)
	cerr := p.f.Close()
	if cerr != nil {
		return wrapPath(cerr, p.path, "close %s", p.path)
	}
	if uerr != nil {
		return wrapPath(uerr, p.path, "unlock %s", p.path)
	}
	return nil
}

// Close ends the Part and keeps it for a later resume: committed ranges
// are synced and journalled (unless a sync already failed), then the lock
// is released. Close after Close, Finish or Discard does nothing.
func (p *Part) Close() error {
	if !p.end() {
		return nil
	}
	var errs []error
	p.mu.Lock()
	broken := p.noSync
	p.mu.Unlock()
	if !broken {
		errs = append(errs, p.checkpoint())
	}
	errs = append(errs, p.release())
	return errors.Join(errs...)
}

// Discard ends the Part and removes the .part file and its journal, then
// releases the lock. Discard after the Part ended does nothing.
func (p *Part) Discard() error {
	if !p.end() {
		return nil
	}
	return errors.Join(p.remove(), p.release())
}

// remove deletes the journal first (so it can never outlive its data),
// then the .part, while the lock is still held.
func (p *Part) remove() error {
	var errs []error
	for _, path := range []string{p.journal, p.journal + ".tmp", p.path} {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, wrapPath(err, path, "remove %s", path))
		}
	}
	return errors.Join(errs...)
}
