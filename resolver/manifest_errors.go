package resolver

import (
	"fmt"
	"strings"
)

// SyntaxError is a manifest that is not valid TOML. Line and Column are
// 1-based; File is the manifest's origin (a path or a redacted URL).
type SyntaxError struct {
	File   string
	Line   int
	Column int
	Msg    string
	Err    error // the TOML library's error, for errors.As
}

// Error reads "file:line:column: message", the form editors jump to.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
}

// Unwrap returns the TOML library's error.
func (e *SyntaxError) Unwrap() error { return e.Err }

// FieldError is one problem with one manifest entry (or with [settings], or
// with a table). Key names the entry as the manifest spells it
// ("models.lora.detail", "settings", "models.lorra"); Field names the field
// ("model_id", "headers.Authorization") or is empty when the problem is the
// entry as a whole; Msg says what is wrong and what would be valid.
type FieldError struct {
	Key   string
	Field string
	Msg   string
}

// Error reads "models.lora.detail: field model_id: <msg>", or
// "models.lora.detail: <msg>" without a field.
func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Key + ": " + e.Msg
	}
	return e.Key + ": field " + e.Field + ": " + e.Msg
}

// ValidationError is every problem found in one manifest, in the order the
// manifest shows them, so a user can fix them all in one go. It is never
// empty when returned.
type ValidationError struct {
	Origin   string // path or redacted URL of the manifest
	Problems []*FieldError
}

// Error puts each problem on its own line, prefixed with the origin.
func (e *ValidationError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		if e.Origin != "" {
			b.WriteString(e.Origin + ": ")
		}
		b.WriteString(p.Error())
	}
	return b.String()
}

// Unwrap returns the problems, so errors.As finds a *FieldError.
func (e *ValidationError) Unwrap() []error {
	out := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		out[i] = p
	}
	return out
}

// problems collects FieldErrors while a manifest is checked.
type problems []*FieldError

func (ps *problems) add(key, field, format string, args ...any) {
	*ps = append(*ps, &FieldError{Key: key, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// synonyms are words users write for a field that spelling distance would
// not find.
var synonyms = map[string]string{
	"hash":       "sha256",
	"checksum":   "sha256",
	"name":       "filename",
	"path":       "file",
	"link":       "url",
	"href":       "url",
	"repository": "repo",
	"repoid":     "repo",
	"branch":     "revision",
	"ref":        "revision",
	"commit":     "revision",
	"tag":        "revision",
	"version":    "version_id",
	"versionid":  "version_id",
	"modelid":    "model_id",
	"all":        "download_all",
	"header":     "headers",
	"files":      "file",
	"outdir":     "models_dir",
	"modelsdir":  "models_dir",
	"rate":       "max_rate",
	"ratelimit":  "max_rate",
	"limit":      "max_rate",
	"threads":    "connections",
	"workers":    "connections",
	"parallel":   "connections",
	"model":      "models",
}

// suggest returns the candidate closest to word, or "" when none is close:
// equal once case, '_' and '-' are ignored, a known synonym, or within a
// small edit distance.
func suggest(word string, candidates []string) string {
	key := squash(word)
	for _, c := range candidates {
		if squash(c) == key {
			return c
		}
	}
	if s, ok := synonyms[key]; ok {
		for _, c := range candidates {
			if c == s {
				return c
			}
		}
	}
	best, bestD := "", 3
	if len(key) <= 4 {
		bestD = 2
	}
	for _, c := range candidates {
		if d := editDistance(key, squash(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// didYouMean renders suggest's answer as a message tail.
func didYouMean(word string, candidates []string) string {
	if s := suggest(word, candidates); s != "" {
		return "; did you mean " + s + "?"
	}
	return ""
}

// meant renders suggest's answer for the middle of a message.
func meant(word string, candidates []string) string {
	if s := suggest(word, candidates); s != "" {
		return " (did you mean " + s + "?)"
	}
	return ""
}

// squash lowercases s and drops '_', '-' and spaces.
func squash(s string) string {
	return strings.NewReplacer("_", "", "-", "", " ", "").Replace(strings.ToLower(s))
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
