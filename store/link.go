package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// LinkAction says what Link did at one path.
type LinkAction string

// The outcomes Link reports.
const (
	LinkCreated LinkAction = "created" // a new symbolic link was made
	LinkPresent LinkAction = "present" // the right link (or the folder itself) was there
	LinkKept    LinkAction = "kept"    // a user's file has that name; it was left alone
)

// Linked is one path Link looked at.
type Linked struct {
	Path   string // the link path, in the UI's folder
	Target string // what it points (or should point) at, in the models dir
	Action LinkAction
}

// Link makes the UI's folder of each category show the models dir's
// folder. For each category (nil means all of the layout's), the UI path
// is LinkDir/<folder> (or LinkDir/<LinkFolders[category]>) and the target
// ModelsDir/<folder>, which is created when missing:
//
//   - UI path missing: it becomes a symbolic link to the target;
//   - already the target (a link to it, or the same folder): nothing;
//   - a real folder, or a link to another folder: per-file links inside
//     it, one for each entry of the target (hidden names and downloads in
//     progress skipped); a name already there is kept, never replaced;
//   - anything else (a file, a dangling link): an error naming it.
//
// No links are made when LinkDir is empty, or where the UI path is the
// target itself (LinkDir equal to ModelsDir). Errors of one category do
// not stop the others; they are joined.
func (l Layout) Link(categories []string) ([]Linked, error) {
	if l.LinkDir == "" {
		return nil, nil
	}
	if categories == nil {
		for c := range l.Folders {
			categories = append(categories, c)
		}
		sort.Strings(categories)
	}
	linkRoot, err := filepath.Abs(l.LinkDir)
	if err != nil {
		return nil, fmt.Errorf("link dir %s: %w", l.LinkDir, err)
	}
	var out []Linked
	var errs []error
	seen := map[string]bool{}
	for _, c := range categories {
		target, err := l.Dir(c)
		if err != nil {
			errs = append(errs, fmt.Errorf("link %s: %w", c, err))
			continue
		}
		rel, ok := l.LinkFolders[c]
		if !ok {
			rel = l.Folders[c]
		}
		at := filepath.Join(linkRoot, filepath.FromSlash(rel))
		if at == target || seen[at] {
			continue
		}
		seen[at] = true
		done, err := linkFolder(at, target)
		out = append(out, done...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}

// linkFolder links the UI folder at to the models folder target.
func linkFolder(at, target string) ([]Linked, error) {
	if err := os.MkdirAll(target, 0o755); err != nil {
		return nil, fmt.Errorf("create folder %s: %w", target, err)
	}
	li, err := os.Lstat(at)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(at), 0o755); err != nil {
			return nil, fmt.Errorf("create folder %s: %w", filepath.Dir(at), err)
		}
		if err := os.Symlink(target, at); err != nil {
			return nil, fmt.Errorf("link %s -> %s: %w", at, target, err)
		}
		return []Linked{{Path: at, Target: target, Action: LinkCreated}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("link %s: %w", at, err)
	}

	fi, err := os.Stat(at) // follows a link
	tfi, terr := os.Stat(target)
	switch {
	case terr != nil:
		return nil, fmt.Errorf("link %s: %w", at, terr)
	case err == nil && os.SameFile(fi, tfi):
		return []Linked{{Path: at, Target: target, Action: LinkPresent}}, nil
	case err == nil && fi.IsDir():
		return linkFiles(at, target)
	case li.Mode()&os.ModeSymlink != 0:
		dest, _ := os.Readlink(at)
		what := "which is not a folder"
		if errors.Is(err, os.ErrNotExist) {
			what = "which does not exist"
		}
		return nil, fmt.Errorf("link %s: it is a symbolic link to %s, %s; "+
			"remove it so provision can link it to %s", at, dest, what, target)
	default:
		return nil, fmt.Errorf("link %s: it is %s, not a folder; "+
			"move it away so provision can link it to %s", at, kindOf(li.Mode()), target)
	}
}

// kindOf names a file mode in words for messages: "a file", "a named pipe".
func kindOf(m os.FileMode) string {
	switch {
	case m.IsRegular():
		return "a file"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeDevice != 0:
		return "a device"
	}
	return "something other than a file"
}

// linkFiles puts a link in the real folder at for each entry of target.
func linkFiles(at, target string) ([]Linked, error) {
	entries, err := os.ReadDir(target)
	if err != nil {
		return nil, fmt.Errorf("link files into %s: %w", at, err)
	}
	var out []Linked
	var errs []error
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || strings.HasSuffix(name, PartSuffix) ||
			strings.Contains(name, JournalSuffix) {
			continue
		}
		src, dst := filepath.Join(target, name), filepath.Join(at, name)
		l := Linked{Path: dst, Target: src}
		_, err := os.Lstat(dst)
		switch {
		case errors.Is(err, os.ErrNotExist):
			if err := os.Symlink(src, dst); err != nil {
				errs = append(errs, fmt.Errorf("link %s -> %s: %w", dst, src, err))
				continue
			}
			l.Action = LinkCreated
		case err != nil:
			errs = append(errs, fmt.Errorf("link %s: %w", dst, err))
			continue
		case pointsAt(dst, src):
			l.Action = LinkPresent
		default:
			l.Action = LinkKept
		}
		out = append(out, l)
	}
	return out, errors.Join(errs...)
}

// pointsAt reports whether path is, or resolves to, the same file as src.
func pointsAt(path, src string) bool {
	a, err := os.Stat(path)
	if err != nil {
		return false
	}
	b, err := os.Stat(src)
	return err == nil && os.SameFile(a, b)
}
