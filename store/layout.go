package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"provision/internal/fname"
)

// The canonical categories, as the resolver names them.
var categories = []string{
	"checkpoints", "lora", "vae", "embeddings", "controlnet", "upscale_models",
	"inpaint", "text_encoder", "hypernetworks", "clip_vision",
}

// layouts maps a UI to the folder (under the models dir) of each category.
var layouts = map[string]map[string]string{
	// The seed's table: what Fooocus scans, plus the folders the seed adds.
	"fooocus": {
		"checkpoints": "checkpoints", "lora": "loras", "vae": "vae",
		"embeddings": "embeddings", "controlnet": "controlnet",
		"upscale_models": "upscale_models", "inpaint": "inpaint",
		"text_encoder": "text_encoder", "hypernetworks": "hypernetworks",
		"clip_vision": "clip_vision",
	},
	// ComfyUI's folder_paths names; "text_encoders" replaced the older
	// "clip" folder, and "inpaint" is where the inpaint node packs look.
	"comfyui": {
		"checkpoints": "checkpoints", "lora": "loras", "vae": "vae",
		"embeddings": "embeddings", "controlnet": "controlnet",
		"upscale_models": "upscale_models", "inpaint": "inpaint",
		"text_encoder": "text_encoders", "hypernetworks": "hypernetworks",
		"clip_vision": "clip_vision",
	},
	// A1111 and Forge. Inpainting models are ordinary checkpoints there;
	// text_encoder and clip_vision are Forge's folders. Embeddings live in
	// <webui>/embeddings, outside models/: they are stored in
	// <models>/embeddings and linked from <link_dir>/../embeddings (see
	// linkFolders).
	"a1111": {
		"checkpoints": "Stable-diffusion", "lora": "Lora", "vae": "VAE",
		"embeddings": "embeddings", "controlnet": "ControlNet",
		"upscale_models": "ESRGAN", "inpaint": "Stable-diffusion",
		"text_encoder": "text_encoder", "hypernetworks": "hypernetworks",
		"clip_vision": "clip_vision",
	},
}

// linkFolders holds, per layout, the categories whose UI folder is not
// <link_dir>/<folder>. The paths are relative to the link dir and come
// only from this table, never from a manifest or the network.
var linkFolders = map[string]map[string]string{
	"a1111": {"embeddings": "../embeddings"},
}

// DefaultLayout is the layout used when none is named.
const DefaultLayout = "fooocus"

// Categories returns the canonical category names in their usual order.
func Categories() []string { return append([]string(nil), categories...) }

// Layouts returns the names Folders accepts, sorted.
func Layouts() []string {
	var names []string
	for n := range layouts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Folders returns a fresh copy of the category -> folder table of the
// named layout ("fooocus", "comfyui" or "a1111"; "" means DefaultLayout).
// Folders are relative to the models dir. An unknown name is an error that
// lists the valid ones.
func Folders(layout string) (map[string]string, error) {
	if layout == "" {
		layout = DefaultLayout
	}
	t, ok := layouts[strings.ToLower(layout)]
	if !ok {
		return nil, fmt.Errorf("layout %q: unknown; valid layouts are %s",
			layout, strings.Join(Layouts(), ", "))
	}
	out := make(map[string]string, len(t))
	for k, v := range t {
		out[k] = v
	}
	return out, nil
}

// Layout places files: ModelsDir/<Folders[category]>/<rel>, and links the
// UI's folders under LinkDir to them. The zero value places nothing; build
// one with NewLayout or fill it in. A Layout is read-only once built and
// safe for concurrent use.
type Layout struct {
	ModelsDir string            // where files are stored
	LinkDir   string            // where the UI looks; "" means no links
	Folders   map[string]string // category -> folder relative to ModelsDir

	// LinkFolders overrides, per category, where under LinkDir the UI
	// looks when that is not LinkDir/<Folders[category]> (A1111 keeps
	// embeddings in ../embeddings). Relative to LinkDir.
	LinkFolders map[string]string
}

// NewLayout builds the Layout of the named UI layout rooted at modelsDir,
// with custom (a manifest's [settings.folders]: category -> folder) laid
// over its table. modelsDir and linkDir are made absolute. A custom
// category must be a canonical one and its folder a plain relative path
// that stays inside modelsDir; a custom folder also moves that category's
// link to LinkDir/<folder>.
func NewLayout(layout, modelsDir, linkDir string, custom map[string]string) (Layout, error) {
	folders, err := Folders(layout)
	if err != nil {
		return Layout{}, err
	}
	if modelsDir == "" {
		return Layout{}, errors.New("layout: models dir is empty")
	}
	l := Layout{Folders: folders, LinkFolders: map[string]string{}}
	if l.ModelsDir, err = filepath.Abs(modelsDir); err != nil {
		return Layout{}, fmt.Errorf("layout: models dir %s: %w", modelsDir, err)
	}
	if linkDir != "" {
		if l.LinkDir, err = filepath.Abs(linkDir); err != nil {
			return Layout{}, fmt.Errorf("layout: link dir %s: %w", linkDir, err)
		}
	}
	for c, f := range linkFolders[strings.ToLower(layout)] {
		l.LinkFolders[c] = f
	}
	for c, f := range custom {
		if _, ok := folders[c]; !ok {
			return Layout{}, fmt.Errorf("folders.%s: unknown category; valid categories are %s",
				c, strings.Join(categories, ", "))
		}
		clean := fname.Rel(f)
		if clean == "" || clean != filepath.ToSlash(filepath.Clean(f)) {
			return Layout{}, fmt.Errorf("folders.%s = %q: not a plain folder name "+
				"inside the models dir (no \"..\", no absolute path)", c, f)
		}
		l.Folders[c] = clean
		delete(l.LinkFolders, c)
	}
	return l, nil
}

// Dir returns the absolute folder of category under ModelsDir. An unknown
// category is an error.
func (l Layout) Dir(category string) (string, error) {
	f, ok := l.Folders[category]
	if !ok || f == "" {
		return "", fmt.Errorf("category %q: no folder in this layout", category)
	}
	root, err := filepath.Abs(l.ModelsDir)
	if err != nil {
		return "", fmt.Errorf("models dir %s: %w", l.ModelsDir, err)
	}
	dir := filepath.Join(root, filepath.FromSlash(f))
	if !within(root, dir) {
		return "", fmt.Errorf("category %q folder %q: %w", category, f, ErrUnsafePath)
	}
	return dir, nil
}

// Final returns the absolute final path of a file whose slash path under
// the category folder is rel (a single name, or "entry/sub/file" for
// download_all). rel is sanitised again with fname.Rel, and the result is
// proven to stay inside the category folder: lexically after cleaning,
// and on disk, where an existing folder on the way must not be a symbolic
// link leading out of the category folder. Errors wrap ErrUnsafePath.
// Final creates nothing.
func (l Layout) Final(category, rel string) (string, error) {
	dir, err := l.Dir(category)
	if err != nil {
		return "", err
	}
	clean := fname.Rel(rel)
	if clean == "" {
		return "", fmt.Errorf("file name %q: nothing usable is left: %w", rel, ErrUnsafePath)
	}
	p := filepath.Join(dir, filepath.FromSlash(clean))
	if !within(dir, p) || p == dir {
		return "", fmt.Errorf("file name %q: %w", rel, ErrUnsafePath)
	}
	if err := checkParents(dir, filepath.Dir(p)); err != nil {
		return "", fmt.Errorf("file name %q: %w", rel, err)
	}
	return p, nil
}

// within reports whether p is root or lies below it, lexically.
func within(root, p string) bool {
	root, p = filepath.Clean(root), filepath.Clean(p)
	if p == root {
		return true
	}
	return strings.HasPrefix(p, strings.TrimSuffix(root, string(filepath.Separator))+
		string(filepath.Separator))
}

// checkParents proves that the deepest existing folder between base and
// dir (inclusive) resolves, symbolic links followed, to a place inside
// base's own resolved location. base itself may be a link (a user may put
// a category folder on another disk); what is below it may not lead out.
func checkParents(base, dir string) error {
	probe := dir
	for {
		if _, err := os.Lstat(probe); err == nil {
			break
		} else if !errors.Is(err, os.ErrNotExist) {
			return wrapPath(err, probe, "check folder %s", probe)
		}
		if probe == base || !within(base, probe) {
			return nil // nothing below base exists yet: MkdirAll makes real folders
		}
		probe = filepath.Dir(probe)
	}
	if probe == base {
		return nil
	}
	realBase, err := filepath.EvalSymlinks(base)
	if err != nil {
		return wrapPath(err, base, "check folder %s", base)
	}
	real, err := filepath.EvalSymlinks(probe)
	if err != nil {
		return wrapPath(err, probe, "check folder %s", probe)
	}
	if !within(realBase, real) {
		return fmt.Errorf("folder %s leads to %s: %w", probe, real, ErrUnsafePath)
	}
	fi, err := os.Stat(probe)
	if err != nil {
		return wrapPath(err, probe, "check folder %s", probe)
	}
	if !fi.IsDir() {
		return fmt.Errorf("check folder %s: not a folder", probe)
	}
	return nil
}
