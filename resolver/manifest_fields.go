package resolver

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"

	"provision/internal/fname"
)

// fieldReader reads one entry table, reporting problems under its key.
type fieldReader struct {
	p   *parser
	key string
	m   map[string]any
	at  toml.Key
}

// read fills e from the table.
func (r *fieldReader) read(e *Entry) {
	known := append([]string(nil), commonFields...)
	for _, s := range sourceOrder {
		known = append(known, sourceFields[s]...)
	}
	var unknown []string
	for _, f := range r.p.keys(r.at, r.m) {
		if !slices.Contains(known, f) {
			unknown = append(unknown, f)
		}
	}

	// A misspelt model_id is the likely reason no source shows: report the
	// spelling alone.
	e.Source = r.source(len(unknown) > 0)
	valid := known
	if e.Source != "" {
		valid = append(append([]string(nil), commonFields...), sourceFields[e.Source]...)
	}
	for _, f := range unknown {
		r.add(f, "unknown field%s", r.unknownTail(f, known, valid))
	}
	if e.Source != "" {
		r.foreign(e.Source)
	}
	e.Filename = r.filename()
	e.SHA256 = r.sha256()
	e.Optional = r.flag("optional")
	e.Extract = r.flag("extract")
	switch e.Source {
	case HuggingFace:
		r.huggingFace(e)
	case CivitAI:
		r.civitAI(e)
	case URL:
		r.url(e)
	}
}

// unknownTail suggests a field close to f, else lists the valid ones.
func (r *fieldReader) unknownTail(f string, known, valid []string) string {
	if t := didYouMean(f, known); t != "" {
		return t
	}
	return "; valid fields: " + strings.Join(valid, ", ")
}

func (r *fieldReader) add(field, format string, args ...any) {
	r.p.ps.add(r.key, field, format, args...)
}

func (r *fieldReader) has(f string) bool { _, ok := r.m[f]; return ok }

// source returns the entry's source, given or inferred, or "" after a
// reported problem.
func (r *fieldReader) source(quiet bool) Source {
	if r.has("source") {
		s, ok := r.str("source")
		if !ok {
			return ""
		}
		src, ok := parseSource(s)
		if !ok {
			r.add("source", "unknown source %q%s; valid: huggingface (or hf), civitai, url",
				s, meant(s, []string{"huggingface", "civitai", "url"}))
			return ""
		}
		return src
	}
	var found []string
	var src Source
	for _, c := range []struct {
		field string
		src   Source
	}{{"repo", HuggingFace}, {"model_id", CivitAI}, {"version_id", CivitAI}, {"url", URL}} {
		if r.has(c.field) && src != c.src {
			found = append(found, c.field)
			src = c.src
		}
	}
	switch len(found) {
	case 0:
		if !quiet {
			r.add("", "no source: give repo (huggingface), model_id (civitai) or url")
		}
		return ""
	case 1:
		return src
	}
	r.add("", "cannot tell the source from %s; add source = \"huggingface\", "+
		"\"civitai\" or \"url\"", strings.Join(found, " and "))
	return ""
}

// foreign reports fields that belong to another source than src.
func (r *fieldReader) foreign(src Source) {
	for _, f := range r.p.keys(r.at, r.m) {
		if slices.Contains(commonFields, f) || slices.Contains(sourceFields[src], f) {
			continue
		}
		for _, other := range sourceOrder {
			if slices.Contains(sourceFields[other], f) {
				r.add(f, "not used by %s entries (it is a %s field); %s entries take %s",
					src, other, src, strings.Join(sourceFields[src], ", "))
			}
		}
	}
}

// huggingFace reads and checks the HuggingFace fields.
func (r *fieldReader) huggingFace(e *Entry) {
	repo, repoOK := r.str("repo")
	repo = strings.TrimSpace(repo)
	e.RepoType = "model"
	for _, kind := range []string{"models", "datasets", "spaces"} {
		if rest, ok := strings.CutPrefix(repo, kind+"/"); ok {
			repo, e.RepoType = rest, strings.TrimSuffix(kind, "s")
		}
	}
	e.Repo = repo
	if !r.has("repo") {
		r.add("", "huggingface entry needs repo (\"owner/name\")")
	} else if msg := checkRepo(repo); repoOK && msg != "" {
		r.add("repo", "%s", msg)
	}
	if t, ok := r.str("repo_type"); ok && r.has("repo_type") {
		kind := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(t)), "s")
		switch {
		case kind != "model" && kind != "dataset" && kind != "space":
			r.add("repo_type", "%q is not a repo type; valid: model, dataset, space", t)
		case e.RepoType != "model" && kind != e.RepoType:
			r.add("repo_type", "%q contradicts the repo written as %ss/%s", t, e.RepoType,
				repo)
		default:
			e.RepoType = kind
		}
	}

	file, fileOK := r.str("file")
	e.File = file
	e.File = strings.TrimPrefix(strings.TrimSpace(e.File), "/")
	e.Revision, _ = r.str("revision")
	e.Revision = strings.TrimSpace(e.Revision)
	if r.has("revision") && (e.Revision == "" || strings.ContainsAny(e.Revision, " \t") ||
		strings.Contains(e.Revision, "..")) {
		r.add("revision", "%q is not a revision; write a branch, tag or commit, e.g. \"main\"",
			e.Revision)
	}
	e.Gated = r.flag("gated")
	e.DownloadAll = r.flag("download_all")
	e.Include = r.globs("include")
	e.Exclude = r.globs("exclude")
	switch {
	case e.DownloadAll && r.has("file"):
		r.add("file", "not used with download_all = true; remove one of them "+
			"(include = [\"*.safetensors\"] picks files)")
	case !e.DownloadAll && !r.has("file"):
		r.add("", "huggingface entry needs file (or download_all = true)")
	case r.has("file") && fileOK:
		if msg := checkRepoFile(e.File); msg != "" {
			r.add("file", "%s", msg)
		}
	}
	for _, f := range []string{"include", "exclude"} {
		if r.has(f) && !e.DownloadAll {
			r.add(f, "only applies with download_all = true")
		}
	}
}

// civitAI reads and checks the CivitAI fields.
func (r *fieldReader) civitAI(e *Entry) {
	var mid, vid string
	if r.has("model_id") {
		mid = r.id("model_id")
	}
	if r.has("version_id") {
		vid = r.id("version_id")
	}
	switch {
	case !r.has("model_id") && !r.has("version_id"):
		r.add("", "civitai entry needs model_id; %s", versionHint)
	case mid != "" && vid != "" && mid != vid:
		r.add("version_id", "%s differs from model_id %s; give only one (both mean the "+
			"version id)", vid, mid)
	case mid != "":
		e.VersionID = mid
	default:
		e.VersionID = vid
	}
	if r.has("file_id") {
		s := r.idValue("file_id")
		if s != "" && !isDigits(s) {
			r.add("file_id", "%q is not a number; use files[].id from the version's API "+
				"answer, or select with type, format, fp or size", s)
		} else {
			e.FileID = s
		}
	}
	e.Type, _ = r.str("type")
	e.Format, _ = r.str("format")
	e.FP, _ = r.str("fp")
	e.FP = strings.ToLower(strings.TrimSpace(e.FP))
	e.Size, _ = r.str("size")
	e.Size = strings.ToLower(strings.TrimSpace(e.Size))
	if e.Size != "" && e.Size != "pruned" && e.Size != "full" {
		r.add("size", "%q is not a CivitAI file size; valid: pruned, full", e.Size)
	}
}

// url reads and checks the URL fields.
func (r *fieldReader) url(e *Entry) {
	raw, urlOK := r.str("url")
	raw = strings.TrimSpace(raw)
	if !r.has("url") {
		r.add("", "url entry needs url (an http or https link)")
	} else if urlOK {
		u, msg, unset := r.p.expand(raw)
		if msg == "" && unset == nil {
			msg = checkURL(raw, u)
		}
		if msg != "" {
			r.add("url", "%s", msg)
		}
		e.noteUnset("url", unset)
		e.URL = u
	}

	if !r.has("headers") {
		return
	}
	hs, ok := r.m["headers"].(map[string]any)
	if !ok {
		r.add("headers", "want a table like headers = { Authorization = \"Bearer ${TOKEN}\" }, "+
			"got %s", typeName(r.m["headers"]))
		return
	}
	e.Headers = make(map[string]string, len(hs))
	for _, name := range r.p.keys(append(r.at, "headers"), hs) {
		field := "headers." + toml.Key{name}.String()
		s, ok := hs[name].(string)
		if !ok {
			r.add(field, "want a string, got %s", typeName(hs[name]))
			continue
		}
		if !isToken(name) {
			r.add(field, "%q is not a valid header name", name)
			continue
		}
		v, msg, unset := r.p.expand(s)
		// A token pasted with a trailing newline or spaces is still the token:
		// whitespace around a header value means nothing in HTTP.
		v = strings.TrimSpace(v)
		if msg == "" && strings.ContainsAny(v, "\r\n\x00") {
			msg = "the value contains a line break or NUL, which a header cannot carry"
		}
		if msg != "" {
			r.add(field, "%s", msg)
			continue
		}
		if unset != nil {
			e.noteUnset(field, unset)
			continue
		}
		e.Headers[name] = v
	}
}

// filename reads and checks the filename field.
func (r *fieldReader) filename() string {
	s, ok := r.str("filename")
	if !ok || !r.has("filename") {
		return ""
	}
	switch safe := fname.Base(s); {
	case strings.ContainsAny(s, `/\`):
		r.add("filename", "%q has a folder in it; write only a file name (the category "+
			"decides the folder)", s)
	case safe == "":
		r.add("filename", "%q is not a usable file name", s)
	case safe != s:
		r.add("filename", "%q has characters a file name cannot have; use %q", s, safe)
	default:
		return s
	}
	return ""
}

// sha256 reads the sha256 field as lowercase hex.
func (r *fieldReader) sha256() string {
	s, ok := r.str("sha256")
	if !ok || !r.has("sha256") {
		return ""
	}
	h := strings.ToLower(strings.TrimSpace(s))
	h = strings.TrimPrefix(h, "sha256:")
	if len(h) != 64 || strings.Trim(h, "0123456789abcdef") != "" {
		r.add("sha256", "%q is not a sha256; write its 64 hex digits (a \"sha256:\" "+
			"prefix is fine)", s)
		return ""
	}
	return h
}

// str returns field f as a string. An absent field gives "", true.
func (r *fieldReader) str(f string) (string, bool) {
	v, ok := r.m[f]
	if !ok {
		return "", true
	}
	s, ok := v.(string)
	if !ok {
		r.add(f, "want a string in quotes, got %s", typeName(v))
	}
	return s, ok
}

// flag returns boolean field f; absent is false.
func (r *fieldReader) flag(f string) bool {
	v, ok := r.m[f]
	if !ok {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		if s, isStr := v.(string); isStr {
			r.add(f, "%q is a string; write %s = true or %s = false, without quotes", s, f, f)
		} else {
			r.add(f, "want true or false, got %s", typeName(v))
		}
	}
	return b
}

// idValue returns field f, a string or an integer, as text.
func (r *fieldReader) idValue(f string) string {
	switch v := r.m[f].(type) {
	case string:
		return strings.TrimSpace(v)
	case int64:
		return fmt.Sprint(v)
	default:
		r.add(f, "want a number like 288982 or \"288982\", got %s", typeName(v))
		return ""
	}
}

// id returns a CivitAI version id from field f.
func (r *fieldReader) id(f string) string {
	s := r.idValue(f)
	if s == "" {
		if _, isStr := r.m[f].(string); isStr {
			r.add(f, "is empty; %s", versionHint)
		}
		return ""
	}
	id, msg := versionID(s)
	if msg != "" {
		r.add(f, "%s", msg)
	}
	return id
}

// globs returns field f, one glob or a list of them.
func (r *fieldReader) globs(f string) []string {
	var out []string
	switch v := r.m[f].(type) {
	case nil:
		return nil
	case string:
		out = []string{v}
	case []any:
		for _, x := range v {
			s, ok := x.(string)
			if !ok {
				r.add(f, "want strings like \"*.safetensors\", got %s", typeName(x))
				return nil
			}
			out = append(out, s)
		}
	default:
		r.add(f, "want a glob or a list of globs like [\"*.safetensors\"], got %s", typeName(v))
		return nil
	}
	for _, g := range out {
		if _, err := path.Match(g, ""); err != nil {
			r.add(f, "%q is not a valid glob pattern", g)
		}
	}
	return out
}
