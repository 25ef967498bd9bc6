package resolver

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestParseManifestProblems pins the exact text of every validation message:
// each names the entry and the field and says what would be valid.
func TestParseManifestProblems(t *testing.T) {
	tests := []struct {
		src  string
		want []string
	}{
		{
			"[models.lora]\ndetail = { model_id = \"abc\" }",
			[]string{
				"models.lora.detail: field model_id: \"abc\" is not a number; use the " +
					"version id from the download link (?modelVersionId=288982)",
			},
		},
		{
			"[models.lora]\ndetail = { modelid = \"1\" }",
			[]string{
				"models.lora.detail: field modelid: unknown field; did you mean model_id?",
			},
		},
		{
			"[models.checkpoints]\nx = { repo = \"a/b\" }",
			[]string{
				"models.checkpoints.x: huggingface entry needs file (or download_all = true)",
			},
		},
		{
			"[models.checkpoints]\nx = { repo = \"ab\", file = \"f\" }",
			[]string{
				"models.checkpoints.x: field repo: \"ab\" is not \"owner/name\"; write it as " +
					"the model page shows it, e.g. \"stabilityai/stable-diffusion-xl-base-1.0\"",
			},
		},
		{
			"[models.checkpoints]\nx = { repo = \"https://huggingface.co/a/b\", file = \"f\" " +
				"}",
			[]string{
				"models.checkpoints.x: field repo: \"https://huggingface.co/a/b\" is a link; " +
					"write only repo = \"a/b\"",
			},
		},
		{
			"[models.checkpoints]\nx = { url = \"ftp://h/f?token=1\" }",
			[]string{
				"models.checkpoints.x: field url: \"ftp://h/f?…\" is not an http(s) URL; " +
					"write the full link, e.g. \"https://host/path/model.safetensors\"",
			},
		},
		{
			"[models.lorra]\nx = \"https://h/f\"",
			[]string{
				"models.lorra: unknown category \"lorra\" (did you mean lora?); valid " +
					"categories: checkpoints, lora, vae, embeddings, controlnet, upscale_models, " +
					"inpaint, text_encoder, hypernetworks, clip_vision",
			},
		},
		{
			"[models.lora]\na = { filename = \"z.safetensors\", url = \"https://h/1\" }\nb = " +
				"{ filename = \"z.safetensors\", model_id = 2 }",
			[]string{
				"models.lora.b: lora/z.safetensors is also the file of models.lora.a; set a " +
					"different filename on one",
			},
		},
		{
			"[models.lora]\na = { repo = \"a/b\", file = \"x/z.safetensors\" " +
				"}\n[models.loras]\nb = { repo = \"c/d\", file = \"z.safetensors\" }\na = " +
				"\"https://h/q\"",
			[]string{
				"models.loras.b: lora/z.safetensors is also the file of models.lora.a; set a " +
					"different filename on one",
				"models.loras.a: same entry name as models.lora.a (both are category lora); " +
					"rename one",
			},
		},
		{
			"[models.lora]\na = { model_id = 1 }\nb = { model_id = \"1\" }",
			[]string{
				"models.lora.b: fetches the same file as models.lora.a; remove one",
			},
		},
		{
			"[models.lora]\na = { url = \"https://h/a\", repo = \"a/b\" }",
			[]string{
				"models.lora.a: cannot tell the source from repo and url; add source = " +
					"\"huggingface\", \"civitai\" or \"url\"",
			},
		},
		{
			"[models.lora]\na = { source = \"url\", url = \"https://h/a\", repo = \"a/b\", " +
				"gated = true }",
			[]string{
				"models.lora.a: field repo: not used by url entries (it is a huggingface " +
					"field); url entries take url, headers",
				"models.lora.a: field gated: not used by url entries (it is a huggingface " +
					"field); url entries take url, headers",
			},
		},
		{
			"[models.lora]\na = { gated = \"yes\", repo = \"a/b\", file = \"f\" }",
			[]string{
				"models.lora.a: field gated: \"yes\" is a string; write gated = true or " +
					"gated = false, without quotes",
			},
		},
		{
			"[models.lora]\na = { }",
			[]string{
				"models.lora.a: no source: give repo (huggingface), model_id (civitai) or url",
			},
		},
		{
			"[models.lora]\na = 5",
			[]string{
				"models.lora.a: must be a table like { source = ..., ... } or a URL string, " +
					"not integer 5",
			},
		},
		{
			"[models.lora]\na = { source = \"hugginface\" }",
			[]string{
				"models.lora.a: field source: unknown source \"hugginface\" (did you mean " +
					"huggingface?); valid: huggingface (or hf), civitai, url",
			},
		},
		{
			"[models.lora]\na = { model_id = " +
				"\"https://civitai.com/models/133005/juggernaut\" }",
			[]string{
				"models.lora.a: field model_id: " +
					"\"https://civitai.com/models/133005/juggernaut\" is a model page, not a " +
					"version; pick the version on that page and use the number after " +
					"modelVersionId= in its link",
			},
		},
		{
			"[models.lora]\na = { model_id = 0 }",
			[]string{
				"models.lora.a: field model_id: 0 is not a version id; use the version id " +
					"from the download link (?modelVersionId=288982)",
			},
		},
		{
			"[models.lora]\na = { model_id = 1.5 }",
			[]string{
				"models.lora.a: field model_id: want a number like 288982 or \"288982\", got " +
					"float 1.5",
			},
		},
		{
			"[models.lora]\na = { model_id = 1, version_id = 2 }",
			[]string{
				"models.lora.a: field version_id: 2 differs from model_id 1; give only one " +
					"(both mean the version id)",
			},
		},
		{
			"[models.lora]\na = { model_id = 1, size = \"half\", file_id = \"x\" }",
			[]string{
				"models.lora.a: field file_id: \"x\" is not a number; use files[].id from " +
					"the version's API answer, or select with type, format, fp or size",
				"models.lora.a: field size: \"half\" is not a CivitAI file size; valid: " +
					"pruned, full",
			},
		},
		{
			"[models.lora]\na = { url = \"https://h/a\", filename = \"../x.safetensors\" }",
			[]string{
				"models.lora.a: field filename: \"../x.safetensors\" has a folder in it; " +
					"write only a file name (the category decides the folder)",
			},
		},
		{
			"[models.lora]\na = { url = \"https://h/a\", filename = \"a:b.safetensors\" }",
			[]string{
				"models.lora.a: field filename: \"a:b.safetensors\" has characters a file " +
					"name cannot have; use \"a_b.safetensors\"",
			},
		},
		{
			"[models.lora]\na = { url = \"https://h/a\", sha256 = \"abc\" }",
			[]string{
				"models.lora.a: field sha256: \"abc\" is not a sha256; write its 64 hex " +
					"digits (a \"sha256:\" prefix is fine)",
			},
		},
		{
			"[models.lora]\na = { url = \"https://h/a\", headers = { \"Bad Name\" = \"x\", " +
				"Ok = 5 } }",
			[]string{
				"models.lora.a: field headers.\"Bad Name\": \"Bad Name\" is not a valid " +
					"header name",
				"models.lora.a: field headers.Ok: want a string, got integer 5",
			},
		},
		{
			"[models.lora]\na = { url = \"https://h/${X\" }",
			[]string{
				"models.lora.a: field url: a \"${\" is not closed; write ${NAME} to use " +
					"environment variable NAME",
			},
		},
		{
			"[models.lora]\na = { url = \"https://h/${1X}\" }",
			[]string{
				"models.lora.a: field url: ${1X} is not a variable reference; write ${NAME} " +
					"with letters, digits and _",
			},
		},
		{
			"[models.lora]\na = { repo = \"a/b\", file = \"f\", download_all = true }",
			[]string{
				"models.lora.a: field file: not used with download_all = true; remove one of " +
					"them (include = [\"*.safetensors\"] picks files)",
			},
		},
		{
			"[models.lora]\na = { repo = \"a/b\", file = \"../f\", include = \"*\" }",
			[]string{
				"models.lora.a: field file: \"../f\" is not a path inside the repo; write it " +
					"as the repo's file list shows it, e.g. " +
					"\"vae/diffusion_pytorch_model.safetensors\"",
				"models.lora.a: field include: only applies with download_all = true",
			},
		},
		{
			"[models.lora]\na = { repo = \"a/b\", download_all = true, include = [\"[\"] }",
			[]string{
				"models.lora.a: field include: \"[\" is not a valid glob pattern",
			},
		},
		{
			"[models.lora]\na = { repo = \"datasets/a/b\", repo_type = \"model\", file = " +
				"\"f\" }",
			[]string{
				"models.lora.a: field repo_type: \"model\" contradicts the repo written as " +
					"datasets/a/b",
			},
		},
		{
			"[models.lora]\na = { repo = \"a/b\", repo_type = \"thing\", file = \"f\" }",
			[]string{
				"models.lora.a: field repo_type: \"thing\" is not a repo type; valid: model, " +
					"dataset, space",
			},
		},
		{
			"[model.lora]\na = \"https://h/a\"",
			[]string{
				"model: unknown top-level key (did you mean models?); a manifest has " +
					"[settings] and [models.<category>] tables",
			},
		},
		{
			"[models]\nlora = \"x\"",
			[]string{
				"models.lora: must be a table of named entries, like [models.lora] name = { " +
					"url = \"https://...\" }",
			},
		},
		{
			"models = 1",
			[]string{
				"models: must be a table of categories, like [models.checkpoints]",
			},
		},
		{
			"[models.lora]\na = \"ftp://x\"\nb = \"hf://a\"\nc = \"civitai://x\"",
			[]string{
				"models.lora.a: \"ftp://x\" is not an http(s) URL; write the full link, e.g. " +
					"\"https://host/path/model.safetensors\"",
				"models.lora.b: \"hf://a\" is not hf://owner/name/path/to/file",
				"models.lora.c: \"x\" is not a number; use the version id from the download " +
					"link (?modelVersionId=288982)",
			},
		},
		{
			"[settings]\nlayout = \"invoke\"\nconnections = 0\nmax_rate = " +
				"\"fast\"\nmodelsdir = \"x\"\n[settings.folders]\nlorra = \"x\"\nvae = " +
				"\"../x\"\nckpt = 3",
			[]string{
				"settings: field layout: unknown layout \"invoke\"; valid: fooocus, comfyui, " +
					"a1111",
				"settings: field connections: 0 is out of range; valid: 1 to 256",
				"settings: field max_rate: \"fast\" is not a rate; write e.g. \"200MB/s\", " +
					"\"50M\" (MiB/s), \"800Mbit/s\" or \"0\" for unlimited",
				"settings: field modelsdir: unknown setting (did you mean models_dir?); " +
					"valid settings: models_dir, link_dir, layout, connections, max_rate, folders",
				"settings: field folders.lorra: unknown category (did you mean lora?); valid " +
					"categories: checkpoints, lora, vae, embeddings, controlnet, upscale_models, " +
					"inpaint, text_encoder, hypernetworks, clip_vision",
				"settings: field folders.vae: \"../x\" is not a folder inside models_dir; " +
					"write a relative name like \"Lora\" or \"models/Lora\"",
				"settings: field folders.ckpt: want a folder name in quotes, got integer 3",
			},
		},
		{
			"[settings]\nconnections = \"16\"",
			[]string{
				"settings: field connections: want a whole number like 16 (no quotes), got " +
					"string \"16\"",
			},
		},
		{
			"[models.lora]\na = { url = \"https://h/a\", optional = \"true\" }",
			[]string{
				"models.lora.a: field optional: \"true\" is a string; write optional = true " +
					"or optional = false, without quotes",
			},
		},
		{
			"[models.lora]\na = { url = \"https://h/a\", name = \"b\" }",
			[]string{
				"models.lora.a: field name: unknown field; did you mean filename?",
			},
		},
		{
			"[models.lora]\na = { url = \"https://h/a\", hash = \"b\" }",
			[]string{
				"models.lora.a: field hash: unknown field; did you mean sha256?",
			},
		},
		{
			"[models.lora]\na = { url = \"https://h/a\", xyzzy = \"b\" }",
			[]string{
				"models.lora.a: field xyzzy: unknown field; valid fields: source, filename, " +
					"sha256, optional, extract, url, headers",
			},
		},
		{
			"[models.vae]\na = { repo = 5, file = true }\nb = { url = [\"https://h/f\"] }",
			[]string{
				"models.vae.a: field repo: want a string in quotes, got integer 5",
				"models.vae.a: field file: want a string in quotes, got boolean true",
				"models.vae.b: field url: want a string in quotes, got an array",
			},
		},
		{
			"[models]\nsdxl = { repo = \"a/b\", file = \"f\" }\nneg = \"https://h/n\"",
			[]string{
				"models.sdxl: an entry needs a category: put it in a table [models.<category>] " +
					"such as [models.checkpoints]; valid categories: checkpoints, lora, vae, " +
					"embeddings, controlnet, upscale_models, inpaint, text_encoder, " +
					"hypernetworks, clip_vision",
				"models.neg: an entry needs a category: put it in a table [models.<category>] " +
					"such as [models.checkpoints]; valid categories: checkpoints, lora, vae, " +
					"embeddings, controlnet, upscale_models, inpaint, text_encoder, " +
					"hypernetworks, clip_vision",
			},
		},
		{
			"[models.lora]\na = { source = \"civit\", file_id = 3 }",
			[]string{
				"models.lora.a: civitai entry needs model_id; use the version id from the " +
					"download link (?modelVersionId=288982)",
			},
		},
	}
	for _, tt := range tests {
		if got := problemsOf(t, tt.src, env()); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s\n got %q\nwant %q", tt.src, got, tt.want)
		}
	}
}

func TestValidationErrorReportsAll(t *testing.T) {
	src := "[models.lora]\na = { model_id = \"x\" }\nb = { repo = \"r\" }\n"
	_, err := ParseManifest("m.toml", []byte(src), env())
	want := "m.toml: models.lora.a: field model_id: \"x\" is not a number; use the version id " +
		"from the download link (?modelVersionId=288982)\n" +
		"m.toml: models.lora.b: field repo: \"r\" is not \"owner/name\"; write it as the model " +
		"page shows it, e.g. \"stabilityai/stable-diffusion-xl-base-1.0\"\n" +
		"m.toml: models.lora.b: huggingface entry needs file (or download_all = true)"
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Key != "models.lora.a" || fe.Field != "model_id" {
		t.Errorf("errors.As found %+v", fe)
	}
}

func TestSuggest(t *testing.T) {
	fields := append(append([]string{}, commonFields...), sourceFields[CivitAI]...)
	for word, want := range map[string]string{
		"modelid": "model_id", "ModelId": "model_id", "model-id": "model_id",
		"versionId": "version_id", "file_name": "filename", "sha": "", "hash": "sha256",
		"optinal": "optional", "zzzzzz": "", "fileid": "file_id",
	} {
		if got := suggest(word, fields); got != want {
			t.Errorf("suggest(%q) = %q, want %q", word, got, want)
		}
	}
	if got := editDistance("kitten", "sitting"); got != 3 {
		t.Errorf("editDistance = %d", got)
	}
	e := &FieldError{Key: "models.vae.x", Msg: "broken"}
	if e.Error() != "models.vae.x: broken" {
		t.Errorf("FieldError without field: %q", e.Error())
	}
	if !strings.Contains((&SyntaxError{File: "f", Line: 2, Column: 3, Msg: "m"}).Error(),
		"f:2:3: m") {
		t.Error("SyntaxError format")
	}
}
