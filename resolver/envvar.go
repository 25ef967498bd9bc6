package resolver

import (
	"fmt"
	"strings"
)

// UnsetVar is an environment variable problem of one entry: a field uses
// ${NAME} for variables that are unset or empty where provision runs. It
// is not a mistake of the manifest (the same file works where the
// variables are exported), so it fails only its entry, when the entry is
// resolved, and never the whole manifest.
type UnsetVar struct {
	Field string   // the field as the manifest spells it: "url", "headers.Authorization"
	Names []string // the unset variables, in the order the field uses them
}

// Error reads "field headers.Authorization uses ${MY_TOKEN}, but environment
// variable MY_TOKEN is not set". It never holds a value.
func (u *UnsetVar) Error() string {
	refs := make([]string, len(u.Names))
	for i, n := range u.Names {
		refs[i] = "${" + n + "}"
	}
	noun, verb := "variable", "is"
	if len(u.Names) > 1 {
		noun, verb = "variables", "are"
	}
	return fmt.Sprintf("field %s uses %s, but environment %s %s %s not set", u.Field,
		andList(refs), noun, andList(u.Names), verb)
}

// Unwrap returns ErrEnvUnset.
func (u *UnsetVar) Unwrap() error { return ErrEnvUnset }

// entryError is the *EntryError Preflight and Resolve return for u.
func (u *UnsetVar) entryError(e *Entry) *EntryError {
	return entryErr(e, u, fmt.Sprintf("export %s before running provision "+
		"(an empty value counts as unset)", andList(u.Names)))
}

// noteUnset records on e that field uses the unset variables names. The
// first field with such a problem is the one reported.
func (e *Entry) noteUnset(field string, names []string) {
	if len(names) == 0 || e.Unset != nil {
		return
	}
	e.Unset = &UnsetVar{Field: field, Names: names}
}

// andList joins "a", "a and b", "a, b and c".
func andList(xs []string) string {
	if len(xs) < 2 {
		return strings.Join(xs, "")
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}
