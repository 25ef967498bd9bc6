package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Finish ends the Part and, when the file checks out, puts it in place:
//
//  1. every byte of [0, Size) must be committed (with Size unknown, the
//     committed bytes must be one run from 0, which becomes the size);
//  2. the data is synced and, when the file already has a journal, the
//     journal records it all, so a crash from here on resumes with nothing
//     to fetch (a file small enough never to have checkpointed gets no
//     journal: writing one only to remove it would cost three fsyncs);
//  3. the file size must equal Size;
//  4. the sha256, when Identity.SHA256 is known, must match (only the
//     part the background hasher has not reached is hashed now);
//  5. a .safetensors file must have a sane header: an 8-byte little-endian
//     length, a JSON object of that length that fits the file, and tensor
//     offsets that cover the rest of the file exactly;
//  6. the .part is renamed over final (an existing final file is replaced
//     by the rename only, never truncated), the folder synced, the
//     journal removed, the lock released, and the verification cache
//     told, so Present need not hash the file again.
//
// A failed check (3-5) returns a *VerifyError naming expected and got;
// the final path is untouched and the .part and journal are removed, since
// their bytes are wrong. Any other error (an incomplete file, I/O, ctx
// ending) keeps the .part and its journal for a resume. Either way the
// Part has ended when Finish returns.
func (p *Part) Finish(ctx context.Context) error {
	if !p.end() {
		return fmt.Errorf("finish %s: %w", p.final, ErrClosed)
	}
	if err := p.finish(ctx); err != nil {
		var verr *VerifyError
		if errors.As(err, &verr) {
			return errors.Join(err, p.remove(), p.release())
		}
		return errors.Join(err, p.checkpoint(), p.release())
	}
	return nil
}

func (p *Part) finish(ctx context.Context) error {
	p.mu.Lock()
	sticky, have := p.err, p.have
	p.mu.Unlock()
	if sticky != nil {
		return sticky
	}

	size := p.id.Size
	if size < 0 {
		size = have.Prefix()
		if len(have) > 1 || (len(have) == 1 && have[0].Start > 0) {
			return fmt.Errorf("finish %s: size unknown and bytes %s are missing",
				p.final, have.Missing(have[len(have)-1].End)[0])
		}
		if err := p.f.Truncate(size); err != nil {
			return fmt.Errorf("finish %s: truncate to %d bytes: %w", p.final, size, err)
		}
	}
	if !have.Covers(size) {
		return fmt.Errorf("finish %s: incomplete: %s of %s written",
			p.final, HumanBytes(have.Total()), HumanBytes(size))
	}
	if err := p.syncForFinish(); err != nil {
		return err
	}
	fi, err := p.f.Stat()
	if err != nil {
		return fmt.Errorf("finish %s: %w", p.final, err)
	}
	if fi.Size() != size {
		return &VerifyError{Path: p.final, Check: "size",
			Expected: fmt.Sprintf("%d bytes", size), Got: fmt.Sprintf("%d bytes", fi.Size())}
	}

	var sum string
	if p.hash != nil {
		if err := p.hash.upTo(ctx, p.f, size); err != nil {
			return fmt.Errorf("finish %s: hash: %w", p.final, err)
		}
		sum = p.hash.sum()
		if !strings.EqualFold(sum, p.id.SHA256) {
			return &VerifyError{Path: p.final, Check: "sha256",
				Expected: showDigest(p.id.SHA256), Got: sum}
		}
	}
	if isSafetensors(p.final) {
		if err := checkSafetensors(p.f, size); err != nil {
			return &VerifyError{Path: p.final, Check: "safetensors",
				Expected: "a safetensors header", Got: err.Error()}
		}
	}

	if err := os.Rename(p.path, p.final); err != nil {
		return wrapPath(err, p.final, "finish %s", p.final)
	}
	dir := filepath.Dir(p.final)
	var errs []error
	if err := syncDir(dir); err != nil {
		errs = append(errs, fmt.Errorf("finish %s: sync folder: %w", p.final, err))
	}
	// From here the file is in place; a stale journal is harmless (it
	// claims more than an empty new .part holds, so it is not trusted).
	for _, j := range []string{p.journal, p.journal + ".tmp"} {
		if err := os.Remove(j); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, wrapPath(err, j, "remove journal %s", j))
		}
	}
	errs = append(errs, p.release())
	if fi, err := os.Stat(p.final); err == nil {
		recordVerified(p.final, fi, strings.ToLower(sum), p.id.ETag)
	}
	return errors.Join(errs...)
}

// syncForFinish makes the data durable before the rename, and the journal
// complete when there is one.
func (p *Part) syncForFinish() error {
	p.ckMu.Lock()
	hasJournal := p.jn.f != nil
	p.ckMu.Unlock()
	if hasJournal {
		return p.checkpoint()
	}
	if err := p.o.datasync(p.f); err != nil {
		return p.fail(wrapPath(err, p.path, "sync %s", p.path), true)
	}
	return nil
}

// isSafetensors reports whether name has a safetensors extension.
func isSafetensors(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".safetensors" || ext == ".sft"
}
