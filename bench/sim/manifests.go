package sim

import (
	"fmt"
	"strings"
)

// Manifests returns TOML manifests in the seed's format whose entries all
// resolve against DefaultCatalog on s, keyed by name:
//
//   - "basic": the seed's Basic SDXL Setup (two HF files, CivitAI 135867)
//   - "flux":  the seed's FLUX Setup (gated FLUX.1-dev files, text encoders)
//   - "mixed": the seed's Mixed Sources (HF, CivitAI 288982, a URL entry
//     on the hub's dataset resolve URL)
//   - "demo":  what `provision demo` provisions: a gated HF file, a public
//     HF file, CivitAI versions, a URL entry with a custom filename and an
//     X-Api-Key header from ${DEMO_API_KEY}, and a download_all repo
//
// The manifests name hosts only through s's URLs; run them with DemoEnv.
func (s *Sim) Manifests() map[string]string {
	r := strings.NewReplacer("{HUB}", s.HubURL, "{FILES}", s.FilesURL)
	return map[string]string{
		"basic": basicManifest,
		"flux":  fluxManifest,
		"mixed": r.Replace(mixedManifest),
		"demo":  r.Replace(demoManifest),
	}
}

// DemoEnv returns Env plus the tokens the "demo" manifest needs:
// HF_TOKEN=DemoHFToken, CIVITAI_TOKEN=DemoCivitAIToken and
// DEMO_API_KEY=DemoAPIKey.
func (s *Sim) DemoEnv() []string {
	return append(s.Env(), "HF_TOKEN="+DemoHFToken, "CIVITAI_TOKEN="+DemoCivitAIToken,
		"DEMO_API_KEY="+DemoAPIKey)
}

const basicManifest = `# Basic SDXL setup with VAE
[models.checkpoints]
sdxl-base = {
    source = "huggingface",
    repo = "stabilityai/stable-diffusion-xl-base-1.0",
    file = "sd_xl_base_1.0.safetensors"
}

[models.vae]
sdxl-vae = {
    source = "huggingface",
    repo = "madebyollin/sdxl-vae-fp16-fix",
    file = "sdxl_vae.safetensors"
}

[models.lora]
detail-enhancer = { source = "civitai", model_id = "135867" }
`

const fluxManifest = `# FLUX.1-dev complete setup
[models.checkpoints]
flux-dev = {
    source = "huggingface",
    repo = "black-forest-labs/FLUX.1-dev",
    file = "flux1-dev.safetensors",
    gated = true
}

[models.vae]
flux-vae = {
    source = "huggingface",
    repo = "black-forest-labs/FLUX.1-dev",
    file = "ae.safetensors",
    gated = true
}

[models.text_encoder]
clip_l = {
    source = "huggingface",
    repo = "comfyanonymous/flux_text_encoders",
    file = "clip_l.safetensors"
}
t5xxl_fp8 = {
    source = "huggingface",
    repo = "comfyanonymous/flux_text_encoders",
    file = "t5xxl_fp8_e4m3fn.safetensors"
}
`

const mixedManifest = `# Mix different sources in one config
[models.checkpoints]
# From HuggingFace
sdxl = { source = "huggingface", repo = "stabilityai/stable-diffusion-xl-base-1.0", ` +
	`file = "sd_xl_base_1.0.safetensors" }
# From CivitAI
juggernaut = { source = "civitai", model_id = "288982" }

[models.embeddings]
# Direct URL
easy-negative = { source = "url", ` +
	`url = "{HUB}/datasets/gsdf/EasyNegative/resolve/main/EasyNegative.safetensors" }
`

const demoManifest = `# provision demo: every source against the built-in simulator
[models.checkpoints]
flux-dev = { source = "huggingface", repo = "black-forest-labs/FLUX.1-dev", ` +
	`file = "flux1-dev.safetensors", gated = true }
sdxl-base = { source = "huggingface", repo = "stabilityai/stable-diffusion-xl-base-1.0", ` +
	`file = "sd_xl_base_1.0.safetensors" }
juggernaut = { source = "civitai", model_id = "288982" }

[models.lora.detail]
source = "civitai"
model_id = "135867"

[models.vae.private-vae]
source = "url"
url = "{FILES}/private/model.safetensors"
filename = "demo_private_vae.safetensors"
headers = { X-Api-Key = "${DEMO_API_KEY}" }

[models.upscale_models]
ultrasharp = "{FILES}/models/4x-UltraSharp.pth"

[models.embeddings]
pack = { source = "huggingface", repo = "username/embeddings-collection", download_all = true }
`

// ManyFilesRepo returns a public model repo with n virtual files of size
// bytes each, "files/f0000.bin" and on, for download_all tests such as
// CASES.md C15 (add it to a Catalog's Repos before Start).
func ManyFilesRepo(id string, n int, size int64) *Repo {
	r := &Repo{ID: id}
	for i := range n {
		r.Files = append(r.Files, &RepoFile{Path: fmt.Sprintf("files/f%04d.bin", i), Size: size})
	}
	return r
}
