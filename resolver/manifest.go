package resolver

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/BurntSushi/toml"

	"provision/internal/fname"
	"provision/internal/netx"
)

// Fields an entry may carry, by the source they belong to, in the order
// messages list them.
var (
	commonFields = []string{"source", "filename", "sha256", "optional", "extract"}
	sourceFields = map[Source][]string{
		HuggingFace: {"repo", "file", "revision", "repo_type", "gated", "download_all",
			"include", "exclude"},
		CivitAI: {"model_id", "version_id", "file_id", "type", "format", "fp", "size"},
		URL:     {"url", "headers"},
	}
	sourceOrder = []Source{HuggingFace, CivitAI, URL}
)

// ParseManifest reads a TOML manifest. origin names it in messages (a path
// or a redacted URL). getenv looks up the variables of ${VAR} in url and
// header values; nil means os.Getenv, and an empty value counts as unset.
// An unset variable is not a manifest mistake: it is recorded on its entry
// (Entry.Unset), which alone fails when resolved.
//
// The forms accepted are [models.<category>] tables whose keys are entries
// written as inline tables (on one line or several) or as bare strings (read
// as ParseRef reads them: a URL, "hf://owner/name/file", "civitai://<id>"),
// and sub-tables [models.<category>.<name>]. Categories may use any alias
// (see Categories). Entries keep the manifest's order.
//
// A TOML error is returned as *SyntaxError; every other problem is collected
// into one *ValidationError.
func ParseManifest(origin string, data []byte, getenv func(string) string) (*Manifest, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	var raw map[string]any
	md, err := toml.Decode(string(data), &raw)
	if err != nil {
		return nil, syntaxError(origin, data, err)
	}

	p := &parser{getenv: getenv, order: make(map[string]int)}
	// A table's position is that of its first key: [models.lora.detail]
	// places models.lora even when [models.lora] itself never appears.
	for i, k := range md.Keys() {
		for n := 1; n <= len(k); n++ {
			if _, seen := p.order[strings.Join(k[:n], "\x00")]; !seen {
				p.order[strings.Join(k[:n], "\x00")] = i
			}
		}
	}
	m := &Manifest{Origin: origin}
	for _, top := range p.keys(nil, raw) {
		switch top {
		case "settings":
			m.Settings = p.settings(raw[top])
		case "models":
			m.Entries = p.models(raw[top])
		default:
			p.ps.add(toml.Key{top}.String(), "",
				"unknown top-level key%s; a manifest has [settings] and [models.<category>] tables",
				meant(top, []string{"settings", "models"}))
		}
	}
	p.duplicates(m.Entries)
	if len(p.ps) > 0 {
		return nil, &ValidationError{Origin: origin, Problems: p.ps}
	}
	return m, nil
}

// syntaxError turns the TOML library's error into a *SyntaxError. The
// position is computed from the byte offset the library gives, because its
// line counter is one ahead when the offending character is a line break;
// columns count characters, as editors do.
func syntaxError(origin string, data []byte, err error) error {
	se := &SyntaxError{File: origin, Line: 1, Column: 1, Msg: err.Error(), Err: err}
	var pe toml.ParseError
	if !errors.As(err, &pe) {
		return se
	}
	se.Msg = pe.Message
	switch pos := pe.Position; {
	case pos.Start == 0 && pos.Line > 1:
		se.Line, se.Column = pos.Line, max(pos.Col, 1)
	case pos.Line > 0:
		// The library skips a byte order mark before counting offsets.
		for _, bom := range []string{"\xef\xbb\xbf", "\xff\xfe", "\xfe\xff"} {
			if bytes.HasPrefix(data, []byte(bom)) {
				data = data[len(bom):]
				break
			}
		}
		before := data[:min(max(pos.Start, 0), len(data))]
		se.Line = bytes.Count(before, []byte("\n")) + 1
		se.Column = utf8.RuneCount(before[bytes.LastIndexByte(before, '\n')+1:]) + 1
	}
	return se
}

// parser holds what checking one manifest needs.
type parser struct {
	getenv func(string) string
	order  map[string]int // joined key -> position in the file
	ps     problems
}

// keys returns the keys of table m, found at key path at, in manifest order.
func (p *parser) keys(at toml.Key, m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	pos := func(k string) int { return p.position(append(append(toml.Key{}, at...), k)) }
	sort.SliceStable(ks, func(i, j int) bool {
		pi, pj := pos(ks[i]), pos(ks[j])
		if pi != pj {
			return pi < pj
		}
		return ks[i] < ks[j]
	})
	return ks
}

// position returns where key first appears in the manifest.
func (p *parser) position(key toml.Key) int {
	if i, ok := p.order[strings.Join(key, "\x00")]; ok {
		return i
	}
	return len(p.order)
}

// models reads the [models] table: categories, then their entries.
func (p *parser) models(v any) []*Entry {
	tbl, ok := v.(map[string]any)
	if !ok {
		p.ps.add("models", "", "must be a table of categories, like [models.checkpoints]")
		return nil
	}
	type placed struct {
		pos int
		e   *Entry
	}
	var found []placed
	for _, cat := range p.keys(toml.Key{"models"}, tbl) {
		key := toml.Key{"models", cat}
		canon, ok := CanonicalCategory(cat)
		if !ok && looksLikeEntry(tbl[cat]) {
			p.ps.add(key.String(), "", "an entry needs a category: put it in a table "+
				"[models.<category>] such as [models.checkpoints]; valid categories: %s",
				strings.Join(categoryNames(), ", "))
			continue
		}
		if !ok {
			p.ps.add(key.String(), "", "unknown category %q%s; valid categories: %s",
				cat, meant(normName(cat), allCategorySpellings()),
				strings.Join(categoryNames(), ", "))
			continue
		}
		entries, ok := tbl[cat].(map[string]any)
		if !ok {
			p.ps.add(key.String(), "",
				"must be a table of named entries, like [%s] name = { url = \"https://...\" }",
				key.String())
			continue
		}
		for _, name := range p.keys(key, entries) {
			ekey := append(append(toml.Key{}, key...), name)
			e := &Entry{Key: ekey.String(), Category: canon, Name: name}
			if p.entry(e, ekey, entries[name]) {
				found = append(found, placed{p.position(ekey), e})
			}
		}
	}
	// Categories may be split over the file ([models.lora.a], then
	// [models.vae], then [models.lora] b = ...): order by each entry's place.
	sort.SliceStable(found, func(i, j int) bool { return found[i].pos < found[j].pos })
	out := make([]*Entry, len(found))
	for i, f := range found {
		out[i] = f.e
	}
	return out
}

// looksLikeEntry reports whether v, found where a category belongs, is an
// entry: a string, or a table with an entry's fields.
func looksLikeEntry(v any) bool {
	switch v := v.(type) {
	case string:
		return true
	case map[string]any:
		for _, f := range []string{"source", "repo", "url", "model_id", "version_id"} {
			if _, ok := v[f]; ok {
				return true
			}
		}
	}
	return false
}

// allCategorySpellings lists canonical names and aliases, for suggestions.
func allCategorySpellings() []string {
	var out []string
	for _, c := range categories {
		out = append(out, c.Name)
		out = append(out, c.Aliases...)
	}
	return out
}

// entry fills e from the manifest value v and reports whether it is valid.
func (p *parser) entry(e *Entry, at toml.Key, v any) bool {
	before := len(p.ps)
	switch v := v.(type) {
	case string:
		p.bareEntry(e, v)
	case map[string]any:
		r := &fieldReader{p: p, key: e.Key, m: v, at: at}
		r.read(e)
	default:
		p.ps.add(e.Key, "", "must be a table like { source = ..., ... } or a URL string, not %s",
			typeName(v))
	}
	return len(p.ps) == before
}

// duplicates reports entries that would write the same file, or the same
// entry name twice in one category (possible through aliases).
func (p *parser) duplicates(es []*Entry) {
	names := make(map[string]*Entry)
	targets := make(map[string]*Entry)
	idents := make(map[string]*Entry)
	for _, e := range es {
		if o, ok := names[e.Category+"\x00"+e.Name]; ok {
			p.ps.add(e.Key, "", "same entry name as %s (both are category %s); rename one",
				o.Key, e.Category)
			continue
		}
		names[e.Category+"\x00"+e.Name] = e
		if t := knownTarget(e); t != "" {
			if o, ok := targets[e.Category+"\x00"+t]; ok {
				p.ps.add(e.Key, "", "%s/%s is also the file of %s; set a different filename on one",
					e.Category, t, o.Key)
				continue
			}
			targets[e.Category+"\x00"+t] = e
		}
		if id := identity(e); id != "" {
			if o, ok := idents[e.Category+"\x00"+id]; ok {
				p.ps.add(e.Key, "", "fetches the same file as %s; remove one", o.Key)
				continue
			}
			idents[e.Category+"\x00"+id] = e
		}
	}
}

// knownTarget is the file name an entry will be saved under when the
// manifest alone tells it, else "".
func knownTarget(e *Entry) string {
	switch {
	case e.DownloadAll:
		return e.Name + "/"
	case e.Filename != "":
		return e.Filename
	case e.Source == HuggingFace:
		return fname.Base(e.File)
	}
	return ""
}

// identity names what an entry fetches, so that two entries fetching the
// same thing into one category are caught even when the name is unknown.
func identity(e *Entry) string {
	if e.Filename != "" {
		return "" // an explicit second name is a deliberate copy
	}
	switch e.Source {
	case CivitAI:
		return strings.Join([]string{"civitai", e.VersionID, e.FileID, strings.ToLower(e.Type),
			strings.ToLower(e.Format), e.FP, e.Size}, "\x00")
	case URL:
		return "url\x00" + e.URL
	}
	return ""
}

// checkRepoFile checks a path inside a HuggingFace repository.
func checkRepoFile(f string) string {
	if strings.Contains(f, "://") {
		return fmt.Sprintf("%q is a link; write the path inside the repo, "+
			"e.g. file = \"sd_xl_base_1.0.safetensors\"", f)
	}
	if f == "" || fname.Rel(f) != strings.Trim(f, "/") || path.Clean("/"+f) != "/"+f {
		return fmt.Sprintf("%q is not a path inside the repo; write it as the repo's file list "+
			"shows it, e.g. \"vae/diffusion_pytorch_model.safetensors\"", f)
	}
	return ""
}

// versionHint says where a CivitAI version id is found.
const versionHint = "use the version id from the download link (?modelVersionId=288982)"

// versionID returns the CivitAI version id written as s: a number, or a
// civitai link that carries one (?modelVersionId=N, /api/download/models/N).
// A non-empty message explains why s is not one.
func versionID(s string) (string, string) {
	s = strings.TrimSpace(s)
	if isDigits(s) && strings.Trim(s, "0") != "" {
		return s, ""
	}
	if u, err := url.Parse(s); err == nil && u.Host != "" {
		if v := u.Query().Get("modelVersionId"); isDigits(v) {
			return v, ""
		}
		parts := strings.Split(strings.Trim(u.Path, "/"), "/")
		if n := len(parts); n >= 4 && parts[n-4] == "api" && parts[n-2] == "models" &&
			isDigits(parts[n-1]) {
			return parts[n-1], ""
		}
		if len(parts) >= 2 && parts[0] == "models" && isDigits(parts[1]) {
			return "", fmt.Sprintf("%q is a model page, not a version; pick the version on "+
				"that page and use the number after modelVersionId= in its link",
				netx.Redact(s))
		}
		return "", fmt.Sprintf("%q has no version id; %s", netx.Redact(s), versionHint)
	}
	if isDigits(s) {
		return "", fmt.Sprintf("%s is not a version id; %s", s, versionHint)
	}
	return "", fmt.Sprintf("%q is not a number; %s", s, versionHint)
}

// checkRepo checks a HuggingFace repo id without its kind prefix.
func checkRepo(repo string) string {
	if strings.Contains(repo, "://") || strings.HasPrefix(repo, "huggingface.co/") {
		return fmt.Sprintf("%q is a link; write only %s", netx.Redact(repo), repoFromLink(repo))
	}
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || !repoPart(owner) || !repoPart(name) {
		return fmt.Sprintf("%q is not \"owner/name\"; write it as the model page shows it, "+
			"e.g. \"stabilityai/stable-diffusion-xl-base-1.0\"", repo)
	}
	return ""
}

// repoFromLink suggests the repo (and file) fields for a pasted hub link.
func repoFromLink(link string) string {
	if !strings.Contains(link, "://") {
		link = "https://" + link
	}
	u, err := url.Parse(link)
	if err != nil {
		return "\"owner/name\""
	}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	prefix := ""
	if len(segs) > 0 && (segs[0] == "datasets" || segs[0] == "spaces") {
		prefix, segs = segs[0]+"/", segs[1:]
	}
	if len(segs) < 2 || !repoPart(segs[0]) || !repoPart(segs[1]) {
		return "\"owner/name\", e.g. \"stabilityai/stable-diffusion-xl-base-1.0\""
	}
	out := fmt.Sprintf("repo = %q", prefix+segs[0]+"/"+segs[1])
	if len(segs) >= 5 && (segs[2] == "blob" || segs[2] == "resolve") {
		out += fmt.Sprintf(", file = %q", strings.Join(segs[4:], "/"))
		if segs[3] != "main" {
			out += fmt.Sprintf(", revision = %q", segs[3])
		}
	}
	return out
}

// repoPart reports whether s can be one half of a HuggingFace repo id.
func repoPart(s string) bool {
	if s == "" || s == "." || s == ".." || strings.Contains(s, "..") {
		return false
	}
	for _, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '.'
		if !ok {
			return false
		}
	}
	return true
}

// checkURL checks an entry's URL after expansion; written is the manifest's
// text, shown (redacted) in the message instead of expanded secrets.
func checkURL(written, expanded string) string {
	u, err := url.Parse(expanded)
	if err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		return ""
	}
	return fmt.Sprintf("%q is not an http(s) URL; write the full link, "+
		"e.g. \"https://host/path/model.safetensors\"", netx.Redact(written))
}

// expand replaces each ${NAME} in s with its environment value. A $ not
// followed by { is kept as it is. A non-empty message names a malformed
// reference, a mistake of the manifest. unset lists, in order and once
// each, the variables that are unset or empty: a problem of the
// environment, not of the manifest (see UnsetVar); the value is then
// meaningless. Neither shows any value.
func (p *parser) expand(s string) (v, msg string, unset []string) {
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), "", unset
		}
		b.WriteString(s[:i])
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return "", "a \"${\" is not closed; write ${NAME} to use environment variable NAME",
				nil
		}
		name := s[i+2 : i+j]
		if !isVarName(name) {
			return "", fmt.Sprintf("${%s} is not a variable reference; write ${NAME} with "+
				"letters, digits and _", name), nil
		}
		v := p.getenv(name)
		if v == "" && !slices.Contains(unset, name) {
			unset = append(unset, name)
		}
		b.WriteString(v)
		s = s[i+j+1:]
	}
}

// isVarName reports whether s is a shell-style variable name.
func isVarName(s string) bool {
	for i, c := range s {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' ||
			i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

// isToken reports whether s is a valid HTTP header name.
func isToken(s string) bool {
	for _, c := range s {
		if c > 0x7e || c <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, c) {
			return false
		}
	}
	return s != ""
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// typeName names the TOML type of a decoded value, for messages.
func typeName(v any) string {
	switch v := v.(type) {
	case string:
		return fmt.Sprintf("string %q", v)
	case int64:
		return fmt.Sprintf("integer %d", v)
	case float64:
		return fmt.Sprintf("float %v", v)
	case bool:
		return fmt.Sprintf("boolean %v", v)
	case []any, []map[string]any:
		return "an array"
	case map[string]any:
		return "a table"
	default:
		return "a date/time"
	}
}
