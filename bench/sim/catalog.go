package sim

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"
)

// Catalog is everything a Sim serves: HuggingFace repos, CivitAI models and
// plain files, and the tokens the fake services accept. Start completes the
// catalog in place (back references, commits, sizes of Body files) and the
// Sim reads it afterwards; change it only before Start.
type Catalog struct {
	Repos  []*Repo
	Models []*Model // CivitAI
	Files  []*PlainFile

	// Link forms served on the plain host (see the links.go overview).
	Drive   []*DriveFile
	GitHub  []*GitHubFile
	Dropbox []*DropboxFile

	// HFTokens maps every valid HuggingFace token to the ids of the gated
	// or private repos it may read. A token absent from the map is invalid.
	HFTokens map[string][]string
	// CivitAITokens lists the valid CivitAI API keys.
	CivitAITokens []string

	// Renamed maps old repo ids to current ones: a resolve under the old id
	// answers a relative 307 to the same path under the new id.
	Renamed map[string]string
}

// Repo is a HuggingFace repository.
type Repo struct {
	ID      string // "org/name"
	Type    string // "model" (the default when empty) or "dataset"
	Gated   bool   // a token approved in Catalog.HFTokens is required
	Private bool   // hidden (401/404) from every token not approved for it

	// Commit is the 40-hex commit "main" points at; Start derives one from
	// ID when empty. Revisions maps other branch and tag names (such as
	// "v1.0" or "refs/pr/1") to commits. "main", Commit and every value of
	// Revisions resolve; every revision shows the same files.
	Commit    string
	Revisions map[string]string

	Files []*RepoFile
}

// RepoFile is one file of a Repo.
type RepoFile struct {
	Path string // inside the repo, slash separated: "vae/diffusion.safetensors"
	Size int64  // virtual size; ignored (set to len(Body)) when Body is set
	Body []byte // exact content of a small file; nil for a virtual file
	Gen  int    // content generation, bumped by Sim.Replace; part of the seed

	repo *Repo
}

// Model is a CivitAI model. Its id and its versions' ids are separate
// number sequences, as on CivitAI.
type Model struct {
	ID       int
	Name     string
	Type     string // "Checkpoint", "LORA", "TextualInversion", "VAE", ...
	Versions []*Version
}

// Version is a CivitAI model version, the unit the download endpoint serves.
type Version struct {
	ID        int
	Name      string
	BaseModel string // "SDXL 1.0", "SD 1.5", "Flux.1 D"

	LoginRequired     bool      // anonymous downloads get the login wall
	EarlyAccessUntil  time.Time // downloads answer 403 "Early Access" before it
	Archived          bool      // downloads answer 410
	DownloadsDisabled bool      // downloads answer 401 whatever the token

	Files []*CivitFile

	model *Model
}

// CivitFile is one file of a CivitAI version.
type CivitFile struct {
	ID      int // files[].id; unique across the catalog
	Name    string
	Size    int64
	Primary bool
	Type    string // "Model" (default when empty), "Pruned Model", "VAE", "Archive"
	Format  string // metadata.format: "SafeTensor" (default when empty), "PickleTensor"
	FP      string // metadata.fp: "fp16", "fp8", "fp32" or ""
	SizeTag string // metadata.size: "pruned", "full" or ""
	Gen     int    // content generation, bumped by Sim.Replace; part of the seed

	// Disposition replaces the storage answer's Content-Disposition
	// (default `attachment; filename="<Name>"`); "-" sends none at all.
	Disposition string

	version *Version
}

// PlainFile is a file on the plain file host, at FilesURL + "/" + Name.
type PlainFile struct {
	Name string // path under the host, no leading slash: "models/x.pth"
	Size int64  // virtual size; ignored (set to len(Body)) when Body is set
	Body []byte // exact content; nil for a virtual file
	Gen  int    // content generation, bumped by Sim.Replace; part of the seed

	Disposition string // Content-Disposition value to send; "" sends none

	// Header and Value, when set, make the file answer 403 to requests
	// that do not carry that header with that value.
	Header, Value string
}

// Seed returns the name of the virtual file this file is served from (see
// Content): "hf/<type>s/<repo>/<path>", then "#<Gen>" when Gen > 0, wrapped
// by SafetensorsSeed for names ending in ".safetensors" (the same rule for
// every file type). Stats and SetFaults key files by it.
func (f *RepoFile) Seed() string {
	return seedFor("hf/"+f.repo.kind()+"s/"+f.repo.ID+"/"+f.Path, f.Gen, f.Size)
}

// SHA256 returns the lowercase hex sha256 of the file's bytes.
func (f *RepoFile) SHA256() string { return blobOf(f.Seed(), f.Size, f.Body).sha256() }

// LFS reports whether the hub serves the file through the CDN (a 302 with
// X-Linked-* headers): every file except small text files (.json, .txt,
// .md, .yaml, .yml, .py, .gitattributes, .cfg) and files with a Body.
func (f *RepoFile) LFS() bool {
	if f.Body != nil {
		return false
	}
	switch strings.ToLower(path.Ext(f.Path)) {
	case ".json", ".txt", ".md", ".yaml", ".yml", ".py", ".gitattributes", ".cfg":
		return false
	}
	return true
}

// Repo returns the repository that holds f (set by Start).
func (f *RepoFile) Repo() *Repo { return f.repo }

// gitSHA1 returns the git blob id of b as the tree API shows it: of the
// content for plain files, of the LFS pointer text for LFS files.
func gitSHA1(b blob, lfs bool) string {
	var body []byte
	if lfs {
		body = []byte(lfsPointer(b.sha256(), b.size))
	} else {
		body = content(b)
	}
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(body))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

func lfsPointer(sha string, size int64) string {
	return "version https://git-lfs.github.com/spec/v1\noid sha256:" + sha +
		"\nsize " + strconv.FormatInt(size, 10) + "\n"
}

// File returns the repo's file at p, or nil.
func (r *Repo) File(p string) *RepoFile {
	for _, f := range r.Files {
		if f.Path == p {
			return f
		}
	}
	return nil
}

func (r *Repo) kind() string {
	if r.Type == "" {
		return "model"
	}
	return r.Type
}

// commitFor returns the commit rev names, or "" when it names none.
func (r *Repo) commitFor(rev string) string {
	if rev == "main" || rev == r.Commit {
		return r.Commit
	}
	if c, ok := r.Revisions[rev]; ok {
		return c
	}
	for _, c := range r.Revisions {
		if c == rev {
			return c
		}
	}
	return ""
}

// Seed returns the name of the virtual file this file is served from:
// "civitai/<version id>/<file id>/<name>", wrapped by SafetensorsSeed for
// names ending in ".safetensors".
func (f *CivitFile) Seed() string {
	return seedFor(fmt.Sprintf("civitai/%d/%d/%s", f.version.ID, f.ID, f.Name), f.Gen, f.Size)
}

// SHA256 returns the lowercase hex sha256 of the file's bytes (the API
// shows it in uppercase).
func (f *CivitFile) SHA256() string { return Digest(f.Seed(), f.Size) }

// Version returns the version that holds f (set by Start).
func (f *CivitFile) Version() *Version { return f.version }

// Model returns the model that holds v (set by Start).
func (v *Version) Model() *Model { return v.model }

// File returns the version's file with id, or nil.
func (v *Version) File(id int) *CivitFile {
	for _, f := range v.Files {
		if f.ID == id {
			return f
		}
	}
	return nil
}

// Seed returns the name of the virtual file this file is served from:
// "files/<name>", then "#<Gen>" when Gen > 0, wrapped by SafetensorsSeed
// when the name, or the file name its Disposition gives, ends in
// ".safetensors" (so a file saved under that name passes a safetensors
// check).
func (f *PlainFile) Seed() string {
	st := strings.Contains(strings.ToLower(f.Disposition), ".safetensors")
	return seedAs("files/"+f.Name, f.Gen, f.Size, st)
}

// SHA256 returns the lowercase hex sha256 of the file's bytes.
func (f *PlainFile) SHA256() string { return blobOf(f.Seed(), f.Size, f.Body).sha256() }

// seedFor is the seed of the file served under name in generation gen:
// a safetensors one (every generation) when name ends in ".safetensors".
func seedFor(name string, gen int, size int64) string {
	return seedAs(name, gen, size, false)
}

// seedAs is seedFor for a file that is a safetensors one also when st.
func seedAs(name string, gen int, size int64, st bool) string {
	st = st || strings.HasSuffix(strings.ToLower(name), ".safetensors")
	if gen > 0 {
		name += "#" + strconv.Itoa(gen)
	}
	if st {
		return SafetensorsSeed(size, name)
	}
	return name
}

// Repo returns the repo with id, or nil.
func (c *Catalog) Repo(id string) *Repo {
	for _, r := range c.Repos {
		if r.ID == id {
			return r
		}
	}
	return nil
}

// Model returns the CivitAI model with id, or nil.
func (c *Catalog) Model(id int) *Model {
	for _, m := range c.Models {
		if m.ID == id {
			return m
		}
	}
	return nil
}

// Version returns the CivitAI version with id, or nil.
func (c *Catalog) Version(id int) *Version {
	for _, m := range c.Models {
		for _, v := range m.Versions {
			if v.ID == id {
				return v
			}
		}
	}
	return nil
}

// File returns the plain file with name, or nil.
func (c *Catalog) File(name string) *PlainFile {
	for _, f := range c.Files {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// Scale multiplies the size of every virtual file (not those with a Body)
// by mult, for the demo and benchmarks. Call it before Start.
func (c *Catalog) Scale(mult int64) {
	for _, r := range c.Repos {
		for _, f := range r.Files {
			if f.Body == nil {
				f.Size *= mult
			}
		}
	}
	for _, m := range c.Models {
		for _, v := range m.Versions {
			for _, f := range v.Files {
				f.Size *= mult
			}
		}
	}
	for _, f := range c.Files {
		if f.Body == nil {
			f.Size *= mult
		}
	}
	for _, f := range c.Drive {
		f.Size *= mult
	}
	for _, f := range c.GitHub {
		f.Size *= mult
	}
	for _, f := range c.Dropbox {
		f.Size *= mult
	}
}

// complete fills in back references, commits and Body sizes, and checks
// that names and ids are unique.
func (c *Catalog) complete() error {
	repos := map[string]bool{}
	for _, r := range c.Repos {
		key := r.kind() + "/" + r.ID
		if repos[key] {
			return fmt.Errorf("catalog: repo %s twice", r.ID)
		}
		repos[key] = true
		if r.Commit == "" {
			r.Commit = fakeSHA1("commit " + key)
		}
		for _, f := range r.Files {
			f.repo = r
			if f.Body != nil {
				f.Size = int64(len(f.Body))
			}
		}
	}
	versions, files := map[int]bool{}, map[int]bool{}
	for _, m := range c.Models {
		for _, v := range m.Versions {
			if versions[v.ID] {
				return fmt.Errorf("catalog: civitai version %d twice", v.ID)
			}
			versions[v.ID] = true
			v.model = m
			for _, f := range v.Files {
				if files[f.ID] {
					return fmt.Errorf("catalog: civitai file id %d twice", f.ID)
				}
				files[f.ID] = true
				f.version = v
			}
		}
	}
	names := map[string]bool{}
	for _, f := range c.Files {
		if names[f.Name] {
			return fmt.Errorf("catalog: plain file %s twice", f.Name)
		}
		names[f.Name] = true
		if f.Body != nil {
			f.Size = int64(len(f.Body))
		}
	}
	return nil
}

// fakeSHA1 returns a stable 40-hex string for s.
func fakeSHA1(s string) string {
	sum := sha1.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// blob is the content of one served file: a virtual file or a Body.
type blob struct {
	seed string
	size int64
	body []byte
}

func blobOf(seed string, size int64, body []byte) blob {
	if body != nil {
		size = int64(len(body))
	}
	return blob{seed: seed, size: size, body: body}
}

func (b blob) readAt(p []byte, off int64) {
	if b.body != nil {
		copy(p, b.body[off:])
		return
	}
	Content(b.seed, off, p)
}

// content returns all the bytes of a small blob.
func content(b blob) []byte {
	if b.body != nil {
		return b.body
	}
	p := make([]byte, b.size)
	Content(b.seed, 0, p)
	return p
}

func (b blob) sha256() string {
	if b.body != nil {
		sum := sha256.Sum256(b.body)
		return hex.EncodeToString(sum[:])
	}
	return Digest(b.seed, b.size)
}
