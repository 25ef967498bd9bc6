package store

import (
	"errors"
	"fmt"
	"strings"
)

// ErrLocked is returned (wrapped, naming the .part file) by OpenPart when
// another process, or another OpenPart in this one, is writing the file.
var ErrLocked = errors.New("another provision process is writing this file")

// ErrUnsafePath is returned (wrapped) when a name would leave its category
// folder, or a folder on the way is a symbolic link pointing out of it.
var ErrUnsafePath = errors.New("path escapes the models folder")

// ErrSymlink is returned (wrapped) when a .part, journal or final path is a
// symbolic link where a regular file must be: it is refused, never followed.
var ErrSymlink = errors.New("is a symbolic link; refusing to follow it")

// ErrClosed is returned by the methods of a Part after Close, Discard or
// Finish.
var ErrClosed = errors.New("part already closed")

// VerifyError says a finished download is not the file the source
// described. The final path is untouched when it is returned.
type VerifyError struct {
	Path     string // the final path the file would have had
	Check    string // "size", "sha256" or "safetensors"
	Expected string
	Got      string
}

// Error reads "verify PATH: CHECK: expected X, got Y". A failed
// safetensors check, whose Got is a whole sentence ("not a safetensors
// file: ...", "the server sent an HTML page, not a safetensors file ..."),
// reads "verify PATH: Y".
func (e *VerifyError) Error() string {
	if e.Check == "safetensors" {
		return fmt.Sprintf("verify %s: %s", e.Path, e.Got)
	}
	return fmt.Sprintf("verify %s: %s: expected %s, got %s", e.Path, e.Check, e.Expected, e.Got)
}

// SpaceError says a folder's filesystem has less free space than needed.
type SpaceError struct {
	Dir  string // the folder (or folders, comma separated) checked
	Need int64  // bytes needed
	Free int64  // bytes free for an unprivileged user
}

// Error reads "need 100.0 MiB in /x/models/checkpoints, 64.0 MiB free".
func (e *SpaceError) Error() string {
	return fmt.Sprintf("need %s in %s, %s free", HumanBytes(e.Need), e.Dir, HumanBytes(e.Free))
}

// HumanBytes formats n with binary units and one decimal ("64.0 MiB");
// values under 1 KiB are plain bytes ("512 B").
func HumanBytes(n int64) string {
	if n < 1024 && n > -1024 {
		return fmt.Sprintf("%d B", n)
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v := float64(n) / 1024
	i := 0
	for (v >= 1024 || v <= -1024) && i < len(units)-1 {
		v /= 1024
		i++
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}

// showDigest formats a digest for messages: hex is shown lowercased and whole,
// anything odd is quoted.
func showDigest(s string) string {
	if s == "" {
		return "(none)"
	}
	if strings.Trim(s, "0123456789abcdefABCDEF") == "" {
		return strings.ToLower(s)
	}
	return fmt.Sprintf("%q", s)
}
