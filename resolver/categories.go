package resolver

import (
	"strings"
)

// Category is one of the model kinds a manifest sorts its entries into.
// Name is the canonical spelling stored in Entry.Category; Aliases are the
// other spellings a manifest may use for it (see CanonicalCategory for how
// they are compared).
type Category struct {
	Name        string
	Aliases     []string
	Description string
}

// categories is the canonical list in the seed's order. Aliases are written
// in normalised form (lower case, '_' for '-' and ' ').
var categories = []Category{
	{"checkpoints", []string{"checkpoint", "ckpt", "ckpts", "stable_diffusion", "sd",
		"diffusion_models", "unet"},
		"main Stable Diffusion / FLUX models"},
	{"lora", []string{"loras", "lycoris", "locon"}, "LoRA adaptations"},
	{"vae", []string{"vaes"}, "VAE models"},
	{"embeddings", []string{"embedding", "textual_inversion", "textual_inversions", "ti"},
		"textual inversions"},
	{"controlnet", []string{"controlnets", "control_net", "control_nets"}, "ControlNet models"},
	{"upscale_models", []string{"upscale_model", "upscale", "upscaler", "upscalers",
		"esrgan", "realesrgan"}, "ESRGAN upscalers"},
	{"inpaint", []string{"inpainting"}, "inpainting models"},
	{"text_encoder", []string{"text_encoders", "clip", "t5"}, "CLIP/T5 text encoders"},
	{"hypernetworks", []string{"hypernetwork"}, "hypernetworks"},
	{"clip_vision", []string{"clipvision", "clip_visions"}, "CLIP vision models"},
}

// categoryIndex maps every normalised spelling to its canonical name.
var categoryIndex = func() map[string]string {
	m := make(map[string]string)
	for _, c := range categories {
		m[c.Name] = c.Name
		for _, a := range c.Aliases {
			m[a] = c.Name
		}
	}
	return m
}()

// Categories returns the canonical categories in their documented order,
// each with the aliases a manifest may use instead. The result is a fresh
// copy the caller may modify.
func Categories() []Category {
	out := make([]Category, len(categories))
	for i, c := range categories {
		c.Aliases = append([]string(nil), c.Aliases...)
		out[i] = c
	}
	return out
}

// CanonicalCategory returns the canonical category for name, which may be a
// canonical name or an alias in any letter case, with '-' or ' ' in place of
// '_' ("Stable-diffusion", "LoRAs", "ESRGAN"). It reports false for names
// that are none of those.
func CanonicalCategory(name string) (string, bool) {
	c, ok := categoryIndex[normName(name)]
	return c, ok
}

// categoryNames returns the canonical names, for messages.
func categoryNames() []string {
	names := make([]string, len(categories))
	for i, c := range categories {
		names[i] = c.Name
	}
	return names
}

// sourceIndex maps the spellings of a source a manifest may use.
var sourceIndex = map[string]Source{
	"huggingface":  HuggingFace,
	"hugging_face": HuggingFace,
	"hf":           HuggingFace,
	"hub":          HuggingFace,
	"civitai":      CivitAI,
	"civit":        CivitAI,
	"civit_ai":     CivitAI,
	"url":          URL,
	"http":         URL,
	"https":        URL,
	"direct":       URL,
	"link":         URL,
}

// parseSource returns the source named by s (any case, '-' or '_').
func parseSource(s string) (Source, bool) {
	src, ok := sourceIndex[normName(s)]
	return src, ok
}

// layoutIndex maps the layout spellings accepted in [settings] to the
// canonical layout names.
var layoutIndex = map[string]string{
	"fooocus":       "fooocus",
	"comfyui":       "comfyui",
	"comfy":         "comfyui",
	"a1111":         "a1111",
	"automatic1111": "a1111",
	"forge":         "a1111",
	"sd_webui":      "a1111",
	"webui":         "a1111",
}

// Layouts returns the canonical layout names a manifest's settings.layout
// may take, in documented order. Aliases accepted besides these: "comfy"
// for comfyui; "automatic1111", "forge", "sd-webui" and "webui" for a1111.
func Layouts() []string { return []string{"fooocus", "comfyui", "a1111"} }

// CanonicalLayout returns the canonical layout for name, one of Layouts()
// or an alias of one, in any letter case; it reports false otherwise. The
// command line uses it for the --layout flag and PROVISION_LAYOUT too.
func CanonicalLayout(name string) (string, bool) {
	l, ok := layoutIndex[normName(name)]
	return l, ok
}

// normName lowercases s and turns '-' and ' ' into '_', so that the
// spellings users write compare equal.
func normName(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.NewReplacer("-", "_", " ", "_").Replace(s)
}
