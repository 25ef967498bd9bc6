package resolver

import (
	"fmt"
	"strconv"
	"strings"
)

// civChoose picks the file src selects: the primary file by default, else
// the one file matching every selector given (file_id, type, format, fp,
// size). No match or several matches are errors listing the choices.
func (r *Resolver) civChoose(e, src *Entry, v *civVersion) (*civFile, error) {
	vid := strings.TrimSpace(src.VersionID)
	if len(v.Files) == 0 {
		return nil, entryErr(e, failf(ErrFileNotFound, "CivitAI version %s lists no files", vid),
			"pick another version on "+r.civPage(v.ModelID, vid))
	}
	sel := civSelectors(src)
	var hits []*civFile
	for i := range v.Files {
		f := &v.Files[i]
		if len(sel) == 0 && f.Primary || len(sel) > 0 && matchesAll(f, sel) {
			hits = append(hits, f)
		}
	}
	if len(sel) == 0 && len(hits) == 0 && len(v.Files) == 1 {
		hits = append(hits, &v.Files[0])
	}
	var choices []string
	for i := range v.Files {
		choices = append(choices, describe(&v.Files[i]))
	}
	what := strings.Join(sel.strings(), " ")
	switch {
	case len(hits) == 1:
		return hits[0], nil
	case len(hits) == 0 && len(sel) == 0:
		return nil, entryErr(e, failf(ErrAmbiguous,
			"CivitAI version %s has %d files and none is marked primary: %s", vid,
			len(v.Files), strings.Join(choices, "; ")), "set file_id to one of these ids")
	case len(hits) == 0:
		return nil, entryErr(e, failf(ErrNoMatch,
			"no file of CivitAI version %s matches %s; the files are: %s", vid, what,
			strings.Join(choices, "; ")), "set file_id, type, format, fp or size to match one")
	}
	var hit []string
	for _, f := range hits {
		hit = append(hit, describe(f))
	}
	return nil, entryErr(e, failf(ErrAmbiguous,
		"%d files of CivitAI version %s match %s: %s", len(hits), vid,
		cmpOr(what, "primary"), strings.Join(hit, "; ")),
		"add file_id (or type, format, fp, size) to pick one")
}

// selector is one "field = value" a CivitAI entry chose a file by.
type selector struct{ field, value string }

// selectors are the selectors an entry set, in a fixed order.
type selectors []selector

// strings renders the selectors for messages: type="VAE".
func (s selectors) strings() []string {
	var out []string
	for _, x := range s {
		out = append(out, fmt.Sprintf("%s=%q", x.field, x.value))
	}
	return out
}

// civSelectors lists the selectors set on src.
func civSelectors(src *Entry) selectors {
	var s selectors
	for _, x := range []selector{
		{"file_id", src.FileID}, {"type", src.Type}, {"format", src.Format},
		{"fp", src.FP}, {"size", src.Size},
	} {
		if x.value = strings.TrimSpace(x.value); x.value != "" {
			s = append(s, x)
		}
	}
	return s
}

// matchesAll reports whether f matches every selector. Words compare
// without case, spaces or a plural "s": "safetensors" matches "SafeTensor".
func matchesAll(f *civFile, sel selectors) bool {
	for _, s := range sel {
		var have string
		switch s.field {
		case "file_id":
			if strconv.FormatInt(f.ID, 10) != s.value {
				return false
			}
			continue
		case "type":
			have = f.Type
		case "format":
			have = f.Metadata.Format
		case "fp":
			have = f.Metadata.FP
		case "size":
			have = f.Metadata.Size
		}
		if norm(have) != norm(s.value) {
			return false
		}
	}
	return true
}

// norm folds a selector word for comparison.
func norm(s string) string {
	s = strings.ToLower(strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == '-' || r == '_'
	}), ""))
	return strings.TrimSuffix(s, "s")
}

// describe is one file as a choice in messages:
// "2 (m-fp8.safetensors, Model, SafeTensor, fp8, pruned, 6.1 GB)".
func describe(f *civFile) string {
	parts := []string{f.Name, f.Type, f.Metadata.Format, f.Metadata.FP, f.Metadata.Size,
		approx(f.SizeKB)}
	var keep []string
	for _, p := range parts {
		if p = clean(p); p != "" {
			keep = append(keep, p)
		}
	}
	if f.Primary {
		keep = append(keep, "primary")
	}
	return fmt.Sprintf("%d (%s)", f.ID, strings.Join(keep, ", "))
}

// approx renders an approximate kilobyte count for people.
func approx(kb float64) string {
	switch {
	case kb <= 0:
		return ""
	case kb >= 1<<20:
		return fmt.Sprintf("%.1f GB", kb/(1<<20))
	case kb >= 1<<10:
		return fmt.Sprintf("%.1f MB", kb/(1<<10))
	}
	return fmt.Sprintf("%.0f KB", kb)
}

// cmpOr returns a, or b when a is empty.
func cmpOr(a, b string) string {
	if a == "" {
		return b
	}
	return a
}
