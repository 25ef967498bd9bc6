package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// pathError is a store error about one path: what was being done (a text
// that names the path) and the cause. The os package's errors name their
// path already ("open /m/x.part: permission denied"); wrapped as is, the
// path would show twice. pathError leaves the cause's copy of the path out
// of the message while keeping the cause in the chain, so errors.Is and
// errors.As see the *fs.PathError and its errno as before.
type pathError struct {
	what string // "open /m/x.part", "extend /m/x.part to 4096 bytes"
	path string
	err  error
}

// wrapPath returns err wrapped as "what: cause", where what is
// fmt.Sprintf(format, args...) and names path. See pathError.
func wrapPath(err error, path, format string, args ...any) error {
	return &pathError{what: fmt.Sprintf(format, args...), path: path, err: err}
}

// Error reads "open /m/x.part: permission denied": the path once. An
// operation of the cause other than the wrapper's own shows as a word
// ("hash /m/x: read: input/output error").
func (e *pathError) Error() string {
	msg := e.err.Error()
	op, _, _ := strings.Cut(e.what, " ")
	var inner *pathError
	if errors.As(e.err, &inner) && inner.path == e.path {
		iop, _, _ := strings.Cut(inner.what, " ")
		short := strings.TrimPrefix(inner.Error(), inner.what+": ")
		if iop != op {
			short = iop + ": " + short
		}
		msg = strings.Replace(msg, inner.Error(), short, 1)
	}
	var pe *fs.PathError
	if errors.As(e.err, &pe) && pe.Path == e.path {
		short := pe.Err.Error()
		if pe.Op != op {
			short = pe.Op + ": " + short
		}
		msg = strings.Replace(msg, pe.Error(), short, 1)
	}
	var le *os.LinkError
	if errors.As(e.err, &le) && le.New == e.path {
		short := le.Op + " from " + le.Old + ": " + le.Err.Error()
		msg = strings.Replace(msg, le.Error(), short, 1)
	}
	return e.what + ": " + msg
}

// Unwrap returns the cause.
func (e *pathError) Unwrap() error { return e.err }
