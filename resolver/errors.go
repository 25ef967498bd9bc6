package resolver

import (
	"errors"
	"fmt"
)

// The kinds of failure a resolver reports. Resolve returns them wrapped in
// an *EntryError whose message says what happened and what to do; test for
// a kind with errors.Is.
var (
	// ErrAuthRequired: the source needs a token (or the entry's headers) and
	// none was sent, e.g. a gated HuggingFace repo without HF_TOKEN or a
	// CivitAI login wall without CIVITAI_TOKEN.
	ErrAuthRequired = errors.New("token required")

	// ErrInvalidToken: a token was sent and the service rejected it as
	// invalid (HuggingFace 401 "Invalid credentials", whoami 401).
	ErrInvalidToken = errors.New("token invalid")

	// ErrNotApproved: a token was sent and is valid, but its account may not
	// read this file (gated repo whose license was not accepted, CivitAI
	// downloads disabled, a server refusing the entry's headers).
	ErrNotApproved = errors.New("access not granted")

	// ErrPrivateOrMissing: HuggingFace answered 401 without saying why: the
	// repo is private or does not exist.
	ErrPrivateOrMissing = errors.New("repo private or missing")

	// ErrNotFound is matched by every "does not exist" kind below.
	ErrNotFound = errors.New("not found")

	// ErrRepoNotFound: the HuggingFace repo does not exist (or is invisible
	// to the token sent). It matches ErrNotFound.
	ErrRepoNotFound = fmt.Errorf("repo %w", ErrNotFound)

	// ErrFileNotFound: the repo, version or server has no such file. It
	// matches ErrNotFound.
	ErrFileNotFound = fmt.Errorf("file %w", ErrNotFound)

	// ErrRevisionNotFound: the HuggingFace repo has no such branch, tag or
	// commit. It matches ErrNotFound.
	ErrRevisionNotFound = fmt.Errorf("revision %w", ErrNotFound)

	// ErrVersionNotFound: CivitAI has no model version with that id. It
	// matches ErrNotFound.
	ErrVersionNotFound = fmt.Errorf("version %w", ErrNotFound)

	// ErrModelNotVersion: the CivitAI id given as a version id is a model
	// id; the message lists the model's version ids. It matches
	// ErrVersionNotFound and ErrNotFound.
	ErrModelNotVersion = fmt.Errorf("model id given as %w", ErrVersionNotFound)

	// ErrNoMatch: no file matches the entry's selectors (CivitAI file_id,
	// type, format, fp, size; download_all include/exclude). The message
	// lists the choices.
	ErrNoMatch = errors.New("no file matches")

	// ErrAmbiguous: several CivitAI files match the entry's selectors; the
	// message lists them.
	ErrAmbiguous = errors.New("several files match")

	// ErrRateLimited: the service kept answering 429 after the configured
	// retries, each honouring Retry-After.
	ErrRateLimited = errors.New("rate limited")

	// ErrEarlyAccess: the CivitAI version is in early access; the message
	// carries the deadline when CivitAI gives one.
	ErrEarlyAccess = errors.New("early access")

	// ErrArchived: CivitAI answered 410: the version was archived and its
	// files are gone.
	ErrArchived = errors.New("archived")

	// ErrNotAFile: a web page or a JSON document came back where a file (or
	// a redirect to one) was expected. It is never saved as a model.
	ErrNotAFile = errors.New("not a file")

	// ErrPinMismatch: the manifest pins a sha256 that differs from the one
	// the source reports, so the download could never verify.
	ErrPinMismatch = errors.New("sha256 pin differs from source")

	// ErrUnavailable: the service could not be reached or answered with a
	// server error or an answer the resolver does not understand.
	ErrUnavailable = errors.New("service unavailable")

	// ErrUnsupported: the entry asks for something the resolver cannot do
	// (an unknown source, a URL without a usable file name).
	ErrUnsupported = errors.New("unsupported entry")

	// ErrEnvUnset: the entry's url or headers use a ${VAR} whose variable
	// is not set in this environment (Entry.Unset); export it and run again.
	ErrEnvUnset = errors.New("environment variable not set")
)

// EntryError is the error Resolve returns: what happened to which entry and
// what the user should do. Its message reads
// "models.lora.detail: <what happened>; <what to do>" and never contains a
// token or a signed query string. Unwrap gives the cause, which matches one
// of the Err kinds above.
type EntryError struct {
	Key  string // the entry, as messages name it: "models.lora.detail"
	Err  error  // what happened, matching one of the Err kinds
	Hint string // what to do next; may be ""
}

// Error returns "key: what happened; what to do".
func (e *EntryError) Error() string {
	s := e.Key + ": " + e.Err.Error()
	if e.Hint != "" {
		s += "; " + e.Hint
	}
	return s
}

// Unwrap returns the cause.
func (e *EntryError) Unwrap() error { return e.Err }

// reason is a user-readable sentence that still matches its kind with
// errors.Is, without the kind's terse text appended to the sentence.
type reason struct {
	kind error
	msg  string
}

func (r *reason) Error() string { return r.msg }
func (r *reason) Unwrap() error { return r.kind }

// failf builds the "what happened" part of an error, of the given kind.
func failf(kind error, format string, args ...any) error {
	return &reason{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// entryErr wraps what happened to e with a hint.
func entryErr(e *Entry, err error, hint string) *EntryError {
	return &EntryError{Key: e.Key, Err: err, Hint: hint}
}

// tokenNote says whether a token went with the request, for messages.
func tokenNote(sent bool) string {
	if sent {
		return "a token was sent"
	}
	return "no token was sent"
}
