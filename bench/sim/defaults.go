package sim

import "time"

// Tokens accepted by DefaultCatalog.
const (
	// DemoHFToken is a valid HuggingFace token approved for the gated
	// black-forest-labs/FLUX.1-dev and the private acme/private-model.
	DemoHFToken = "hf_demo_token"
	// UnapprovedHFToken is a valid HuggingFace token approved for nothing:
	// gated repos answer it 403 GatedRepo, private ones 404 RepoNotFound.
	UnapprovedHFToken = "hf_unapproved_token"
	// DemoCivitAIToken is a valid CivitAI API key.
	DemoCivitAIToken = "civitai_demo_token"
	// DemoAPIKey is the X-Api-Key value the plain file
	// "private/model.safetensors" requires.
	DemoAPIKey = "demo-key"
)

const (
	kib = 1 << 10
	mib = 1 << 20
)

// EarlyAccessDeadline is when DefaultCatalog's early-access version 43
// opens: far enough ahead that tests always see it closed.
var EarlyAccessDeadline = time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)

// DefaultCatalog returns a fresh catalog with the seed's example manifests
// and the field cases of CASES.md, files of a few MiB (see Catalog.Scale):
//
// HuggingFace (model repos unless noted; * = gated):
//   - stabilityai/stable-diffusion-xl-base-1.0: sd_xl_base_1.0.safetensors,
//     model_index.json, README.md; revisions "v1.0" (= main) and
//     "refs/pr/1" (another commit)
//   - madebyollin/sdxl-vae-fp16-fix: sdxl_vae.safetensors, config.json
//   - black-forest-labs/FLUX.1-dev*: flux1-dev.safetensors, ae.safetensors,
//     README.md
//   - comfyanonymous/flux_text_encoders: clip_l.safetensors,
//     t5xxl_fp8_e4m3fn.safetensors
//   - dataset gsdf/EasyNegative: EasyNegative.safetensors, README.md
//   - username/embeddings-collection (for download_all): README.md,
//     config.json, negative/EasyNegativeV2.safetensors,
//     negative/bad_hands_5.pt, positive/detail_boost.safetensors,
//     styles/ink/ink_style.safetensors
//   - acme/private-model (private): model.safetensors
//   - stability-old/sdxl-base: renamed, 307 to the sdxl repo
//
// CivitAI (model → versions: file ids):
//   - 133005 Juggernaut XL → 288982: 2880 juggernautXL_v8Rundiffusion.safetensors
//   - 58390 Detail Tweaker LoRA → 135867: 1358 add_detail.safetensors
//   - 100 Multi Format → 201: 201; 202: 1 (fp16, primary), 2 (fp8); 203: 203
//   - 4200 → 42 login required: 42 loginwall_lora.safetensors
//   - 4300 → 43 early access until EarlyAccessDeadline: 43
//   - 4400 → 44 archived: 44;  4500 → 45 downloads disabled: 45
//   - 160000 → 181248: 1812 storage sends no Content-Disposition
//   - 4600 → 46: 46 "青禅_Zen.safetensors" (raw UTF-8 in the disposition)
//   - 4700 → 47: 47 "a.tar.gz" with `attachment; filename="a.tar.gz";`
//
// Plain files (FilesURL + "/" + name):
//   - models/4x-UltraSharp.pth
//   - download/zen: Content-Disposition `attachment; filename="青禅_Zen.safetensors"`
//   - download/zen-ext: the same name as an RFC 5987 filename* (percent-encoded UTF-8)
//   - download/evil: `attachment; filename="../../x.safetensors"`
//     (these three are valid safetensors files, as their names say)
//   - private/model.safetensors: requires header X-Api-Key: DemoAPIKey
//   - EasyNegative.safetensors
//
// Link forms on the plain host (see the package documentation):
//   - Drive 1SmallVaeFileId0123456789abcdEFG tiny_vae.safetensors (direct)
//   - Drive 1BigLoraFileId0123456789abcdEFGH big_lora.safetensors (above
//     DriveScanLimit: virus-scan confirmation page first)
//   - GitHub someone/models@main upscalers/RealESRGAN_x4plus.pth (LFS) and
//     embeddings/small_embed.pt (plain)
//   - Dropbox abc123xyz/dropbox_lora.safetensors, rlkey k3y9
//
// Tokens: DemoHFToken, UnapprovedHFToken, DemoCivitAIToken.
func DefaultCatalog() *Catalog {
	return &Catalog{
		Repos:  defaultRepos(),
		Models: defaultModels(),
		Files: []*PlainFile{
			{Name: "models/4x-UltraSharp.pth", Size: 1*mib + 517},
			{Name: "download/zen", Size: 640 * kib,
				Disposition: `attachment; filename="青禅_Zen.safetensors"`},
			{Name: "download/zen-ext", Size: 640*kib + 1,
				Disposition: `attachment; filename*=UTF-8''%E9%9D%92%E7%A6%85_Zen.safetensors`},
			{Name: "download/evil", Size: 64 * kib,
				Disposition: `attachment; filename="../../x.safetensors"`},
			{Name: "private/model.safetensors", Size: 1*mib + 99,
				Header: "X-Api-Key", Value: DemoAPIKey},
			{Name: "EasyNegative.safetensors", Size: 24*kib + 7},
		},
		Drive: []*DriveFile{
			{ID: "1SmallVaeFileId0123456789abcdEFG", Name: "tiny_vae.safetensors",
				Size: 200 * kib},
			{ID: "1BigLoraFileId0123456789abcdEFGH", Name: "big_lora.safetensors",
				Size: 2*mib + 9},
		},
		GitHub: []*GitHubFile{
			{Repo: "someone/models", Ref: "main", Path: "upscalers/RealESRGAN_x4plus.pth",
				Size: 1*mib + 64, LFS: true},
			{Repo: "someone/models", Ref: "main", Path: "embeddings/small_embed.pt",
				Size: 24 * kib},
		},
		Dropbox: []*DropboxFile{
			{ID: "abc123xyz", Name: "dropbox_lora.safetensors", RLKey: "k3y9", Size: 700 * kib},
		},
		HFTokens: map[string][]string{
			DemoHFToken:       {"black-forest-labs/FLUX.1-dev", "acme/private-model"},
			UnapprovedHFToken: nil,
		},
		CivitAITokens: []string{DemoCivitAIToken},
		Renamed: map[string]string{
			"stability-old/sdxl-base": "stabilityai/stable-diffusion-xl-base-1.0"},
	}
}

func defaultRepos() []*Repo {
	sdxl := &Repo{ID: "stabilityai/stable-diffusion-xl-base-1.0", Files: []*RepoFile{
		{Path: "sd_xl_base_1.0.safetensors", Size: 6*mib + 123},
		{Path: "model_index.json", Body: []byte(`{"_class_name": "StableDiffusionXLPipeline"}` + "\n")},
		{Path: "README.md", Body: []byte("# SD-XL 1.0-base (simulated)\n")},
	}}
	sdxl.Commit = fakeSHA1("sdxl main")
	sdxl.Revisions = map[string]string{"v1.0": sdxl.Commit, "refs/pr/1": fakeSHA1("sdxl pr 1")}
	return []*Repo{
		sdxl,
		{ID: "madebyollin/sdxl-vae-fp16-fix", Files: []*RepoFile{
			{Path: "sdxl_vae.safetensors", Size: 3*mib + 5},
			{Path: "config.json", Body: []byte(`{"_class_name": "AutoencoderKL"}` + "\n")},
		}},
		{ID: "black-forest-labs/FLUX.1-dev", Gated: true, Files: []*RepoFile{
			{Path: "flux1-dev.safetensors", Size: 8*mib + 3},
			{Path: "ae.safetensors", Size: 3*mib + 77},
			{Path: "README.md", Body: []byte("# FLUX.1 [dev] (simulated, gated)\n")},
		}},
		{ID: "comfyanonymous/flux_text_encoders", Files: []*RepoFile{
			{Path: "clip_l.safetensors", Size: 2*mib + 11},
			{Path: "t5xxl_fp8_e4m3fn.safetensors", Size: 5*mib + 13},
		}},
		{ID: "gsdf/EasyNegative", Type: "dataset", Files: []*RepoFile{
			{Path: "EasyNegative.safetensors", Size: 24*kib + 7},
			{Path: "README.md", Body: []byte("# EasyNegative (simulated dataset)\n")},
		}},
		{ID: "username/embeddings-collection", Files: []*RepoFile{
			{Path: "README.md", Body: []byte("# Embeddings collection (simulated)\n")},
			{Path: "config.json", Body: []byte(`{"embeddings": 4}` + "\n")},
			{Path: "negative/EasyNegativeV2.safetensors", Size: 96*kib + 1},
			{Path: "negative/bad_hands_5.pt", Size: 48*kib + 2},
			{Path: "positive/detail_boost.safetensors", Size: 200*kib + 3},
			{Path: "styles/ink/ink_style.safetensors", Size: 130*kib + 4},
		}},
		{ID: "acme/private-model", Private: true, Files: []*RepoFile{
			{Path: "model.safetensors", Size: 1*mib + 1},
		}},
	}
}

func defaultModels() []*Model {
	lora := func(mid, vid int, name, file string, size int64) *Model {
		return &Model{ID: mid, Name: name, Type: "LORA", Versions: []*Version{{
			ID: vid, Name: "v1.0", BaseModel: "SDXL 1.0",
			Files: []*CivitFile{{ID: vid, Name: file, Size: size, Primary: true, FP: "fp16"}},
		}}}
	}
	login := lora(4200, 42, "Login Wall LoRA", "loginwall_lora.safetensors", 512*kib+42)
	login.Versions[0].LoginRequired = true
	early := lora(4300, 43, "Early Access LoRA", "early_lora.safetensors", 256*kib+43)
	early.Versions[0].EarlyAccessUntil = EarlyAccessDeadline
	archived := lora(4400, 44, "Archived LoRA", "archived_lora.safetensors", 256*kib+44)
	archived.Versions[0].Archived = true
	disabled := lora(4500, 45, "No Downloads LoRA", "nodl_lora.safetensors", 256*kib+45)
	disabled.Versions[0].DownloadsDisabled = true
	noDisp := lora(160000, 181248, "Quiet Storage LoRA", "quiet_storage.safetensors",
		300*kib+8)
	noDisp.Versions[0].Files[0].ID = 1812
	noDisp.Versions[0].Files[0].Disposition = "-"
	zen := lora(4600, 46, "青禅 Zen", "青禅_Zen.safetensors", 333*kib+46)
	archive := lora(4700, 47, "Archive Pack", "a.tar.gz", 100*kib+47)
	archive.Versions[0].Files[0].Type = "Archive"
	archive.Versions[0].Files[0].Format = "Other"
	archive.Versions[0].Files[0].Disposition = `attachment; filename="a.tar.gz";`

	return []*Model{
		{ID: 133005, Name: "Juggernaut XL", Type: "Checkpoint", Versions: []*Version{{
			ID: 288982, Name: "V8 + RunDiffusion", BaseModel: "SDXL 1.0",
			Files: []*CivitFile{{ID: 2880, Name: "juggernautXL_v8Rundiffusion.safetensors",
				Size: 7*mib + 288, Primary: true, FP: "fp16", SizeTag: "full"}},
		}}},
		{ID: 58390, Name: "Detail Tweaker LoRA (细节调整LoRA)", Type: "LORA",
			Versions: []*Version{{
				ID: 135867, Name: "v1.0", BaseModel: "SD 1.5",
				Files: []*CivitFile{{ID: 1358, Name: "add_detail.safetensors",
					Size: 1*mib + 135, Primary: true, FP: "fp16"}},
			}}},
		{ID: 100, Name: "Multi Format", Type: "Checkpoint", Versions: []*Version{
			{ID: 203, Name: "v3.0", BaseModel: "Flux.1 D", Files: []*CivitFile{
				{ID: 203, Name: "multiFormat_v30.safetensors", Size: 2*mib + 203,
					Primary: true, FP: "fp16", SizeTag: "pruned"},
			}},
			{ID: 202, Name: "v2.0", BaseModel: "Flux.1 D", Files: []*CivitFile{
				{ID: 1, Name: "multiFormat_v20_fp16.safetensors", Size: 2*mib + 1,
					Primary: true, FP: "fp16", SizeTag: "pruned"},
				{ID: 2, Name: "multiFormat_v20_fp8.safetensors", Size: 1*mib + 2,
					FP: "fp8", SizeTag: "pruned"},
				{ID: 3, Name: "multiFormat_v20_vae.safetensors", Size: 160*kib + 3,
					Type: "VAE", FP: "fp16"},
			}},
			{ID: 201, Name: "v1.0", BaseModel: "Flux.1 D", Files: []*CivitFile{
				{ID: 201, Name: "multiFormat_v10.safetensors", Size: 2*mib + 201,
					Primary: true, FP: "fp32", SizeTag: "full"},
			}},
		}},
		login, early, archived, disabled, noDisp, zen, archive,
	}
}
