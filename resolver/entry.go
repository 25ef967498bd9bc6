package resolver

// Source names where an entry's bytes come from.
type Source string

// The sources a manifest entry can name.
const (
	HuggingFace Source = "huggingface"
	CivitAI     Source = "civitai"
	URL         Source = "url"
)

// Entry is one validated manifest entry. Fields that do not apply to its
// Source are empty.
type Entry struct {
	Key      string // how messages name the entry: "models.lora.detail"
	Category string // canonical category, e.g. "lora" for an entry under [models.loras]
	Name     string // the entry's own name, "detail"
	Source   Source

	// HuggingFace.
	Repo        string   // "org/name"
	File        string   // path inside the repo; empty with DownloadAll
	Revision    string   // branch, tag or commit; "" means "main"
	RepoType    string   // "model" (default), "dataset" or "space"
	Gated       bool     // the user says the repo is gated: a token is required
	DownloadAll bool     // every file of the repo (filtered by Include/Exclude)
	Include     []string // glob patterns on repo paths, for DownloadAll
	Exclude     []string

	// CivitAI. VersionID comes from model_id (the seed's name for it) or version_id.
	VersionID string
	FileID    string // files[].id
	Type      string // files[].type, e.g. "Model", "Pruned Model", "VAE"
	Format    string // metadata.format, e.g. "SafeTensor"
	FP        string // metadata.fp, e.g. "fp16"
	Size      string // metadata.size, "pruned" or "full"

	// URL.
	URL     string
	Headers map[string]string // ${VAR} already expanded; sent only to URL's host

	// Any source.
	Filename string // a name chosen in the manifest; wins over every other name
	SHA256   string // lowercase hex pin, checked after download
	Optional bool   // a failure does not block the launch of the UI
	Extract  bool   // unpack a verified archive into the category folder

	// Unset, when not nil, names environment variables that a ${VAR} in
	// the entry's url or headers uses but the environment lacks (unset or
	// empty). The manifest is still valid: only this entry cannot be
	// fetched, and Preflight and Resolve return that as an *EntryError
	// matching ErrEnvUnset. URL and Headers are then incomplete.
	Unset *UnsetVar
}

// Settings is the manifest's [settings] table. Zero values mean "not set":
// the command line fills in flags, environment variables and defaults.
type Settings struct {
	ModelsDir   string            `toml:"models_dir"`
	LinkDir     string            `toml:"link_dir"`
	Layout      string            `toml:"layout"`
	Connections int               `toml:"connections"`
	MaxRate     string            `toml:"max_rate"`
	Folders     map[string]string `toml:"folders"` // category -> folder name
}

// Manifest is a parsed and validated manifest. Entries keep the order in
// which they appear in the file.
type Manifest struct {
	Origin   string // the path or (redacted) URL the manifest came from
	Settings Settings
	Entries  []*Entry
}
