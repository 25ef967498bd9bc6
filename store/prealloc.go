package store

import (
	"context"
	"errors"
)

// preallocate reserves the file's blocks in steps, overlapped with the
// first writes. ENOSPC becomes the sticky error. A filesystem without
// fallocate, and tmpfs (where it costs CPU and gains nothing), get a
// sparse ftruncate instead.
func (p *Part) preallocate(size int64) {
	defer close(p.allocDone)
	if p.o.sparse(p.f) {
		if err := p.extend(size); err != nil {
			p.fail(wrapPath(err, p.path, "extend %s to %d bytes", p.path, size), false)
		}
		return
	}
	for off := int64(0); off < size; off += allocStep {
		select {
		case <-p.stop:
			return
		default:
		}
		err := p.o.fallocate(p.f, off, min(allocStep, size-off))
		if errors.Is(err, errNoFallocate) {
			err = p.extend(size)
			if err != nil {
				p.fail(wrapPath(err, p.path, "extend %s to %d bytes", p.path, size), false)
			}
			return
		}
		if err != nil {
			p.fail(wrapPath(err, p.path, "preallocate %s (%s)", p.path, HumanBytes(size)), false)
			return
		}
	}
}

// extend grows the file to size with a sparse truncate, never shrinking it.
func (p *Part) extend(size int64) error {
	fi, err := p.f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() >= size {
		return nil
	}
	return p.f.Truncate(size)
}

// Allocated waits until the background preallocation has ended and
// returns its error (wrapping ENOSPC when the file does not fit). Callers
// that want "disk full" before the first byte call it before fetching.
func (p *Part) Allocated(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-p.allocDone:
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}
