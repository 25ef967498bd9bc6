package resolver

import (
	"errors"
	"reflect"
	"testing"
)

func TestRewriteLink(t *testing.T) {
	const sim = "http://127.0.0.1:8080"
	tests := []struct{ in, want string }{
		// HuggingFace pages.
		{"https://huggingface.co/org/repo/blob/main/m.safetensors",
			"https://huggingface.co/org/repo/resolve/main/m.safetensors"},
		{"https://huggingface.co/org/repo/blob/main/sub/dir/m.safetensors?download=true",
			"https://huggingface.co/org/repo/resolve/main/sub/dir/m.safetensors?download=true"},
		{"https://huggingface.co/datasets/gsdf/EasyNegative/blob/main/EasyNegative.safetensors",
			"https://huggingface.co/datasets/gsdf/EasyNegative/resolve/main/" +
				"EasyNegative.safetensors"},
		{"https://huggingface.co/spaces/o/app/blob/main/w.pth",
			"https://huggingface.co/spaces/o/app/resolve/main/w.pth"},
		{"https://hf.co/o/r/blob/refs%2Fpr%2F1/a%20b.bin",
			"https://hf.co/o/r/resolve/refs%2Fpr%2F1/a%20b.bin"},
		{"https://www.huggingface.co/o/r/blob/v1/x", "https://www.huggingface.co/o/r/resolve/v1/x"},
		{sim + "/o/r/blob/main/m.safetensors", sim + "/o/r/resolve/main/m.safetensors"},
		{"http://127.0.0.1:9999/o/r/blob/main/m", "http://127.0.0.1:9999/o/r/blob/main/m"},
		{"https://huggingface.co/o/r/resolve/main/m", "https://huggingface.co/o/r/resolve/main/m"},
		{"https://huggingface.co/o/r/blob/main/", "https://huggingface.co/o/r/blob/main/"},
		{"https://huggingface.co/o/r", "https://huggingface.co/o/r"},
		{"https://huggingface.co/o/blob/x/y", "https://huggingface.co/o/blob/x/y"},

		// GitHub.
		{"https://github.com/o/r/blob/main/configs/models.toml",
			"https://raw.githubusercontent.com/o/r/main/configs/models.toml"},
		{"https://github.com/o/r/blob/v1.0/m.toml?raw=true#L3",
			"https://raw.githubusercontent.com/o/r/v1.0/m.toml"},
		{"https://www.github.com/o/r/raw/main/m.toml",
			"https://raw.githubusercontent.com/o/r/main/m.toml"},
		{"https://github.com/o/r", "https://github.com/o/r"},
		{"https://github.com/o/r/tree/main/dir", "https://github.com/o/r/tree/main/dir"},
		{"https://raw.githubusercontent.com/o/r/main/m.toml",
			"https://raw.githubusercontent.com/o/r/main/m.toml"},

		// Google Drive.
		{"https://drive.google.com/file/d/1AbC_d-E/view?usp=sharing",
			"https://drive.google.com/uc?export=download&id=1AbC_d-E"},
		{"https://drive.google.com/file/d/1AbC/edit",
			"https://drive.google.com/uc?export=download&id=1AbC"},
		{"https://drive.google.com/file/d/1AbC/view?usp=drive_link&resourcekey=0-xy",
			"https://drive.google.com/uc?export=download&id=1AbC&resourcekey=0-xy"},
		{"https://drive.google.com/open?id=1AbC",
			"https://drive.google.com/uc?export=download&id=1AbC"},
		{"https://drive.google.com/uc?id=1AbC",
			"https://drive.google.com/uc?export=download&id=1AbC"},
		{"https://drive.google.com/uc?id=1AbC&export=download&confirm=t",
			"https://drive.google.com/uc?id=1AbC&export=download&confirm=t"},
		{"https://drive.google.com/drive/folders/xyz",
			"https://drive.google.com/drive/folders/xyz"},

		// Dropbox.
		{"https://www.dropbox.com/s/abc/m.safetensors?dl=0",
			"https://www.dropbox.com/s/abc/m.safetensors?dl=1"},
		{"https://www.dropbox.com/scl/fi/abc/m.toml?rlkey=k1&dl=0",
			"https://www.dropbox.com/scl/fi/abc/m.toml?dl=1&rlkey=k1"},
		{"https://dropbox.com/s/abc/m.toml", "https://dropbox.com/s/abc/m.toml?dl=1"},
		{"https://www.dropbox.com/s/abc/m.toml?dl=1", "https://www.dropbox.com/s/abc/m.toml?dl=1"},
		{"https://www.dropbox.com/s/abc/m.toml?raw=1",
			"https://www.dropbox.com/s/abc/m.toml?raw=1"},
		{"https://www.dropbox.com/home", "https://www.dropbox.com/home"},

		// Everything else stays as written.
		{"https://example.com/o/r/blob/main/m", "https://example.com/o/r/blob/main/m"},
		{"ftp://github.com/o/r/blob/main/m", "ftp://github.com/o/r/blob/main/m"},
		{"not a url", "not a url"},
		{"", ""},
		{"https://github.com/%zz", "https://github.com/%zz"},
	}
	for _, tt := range tests {
		if got := RewriteLink(tt.in, sim); got != tt.want {
			t.Errorf("RewriteLink(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
	if got := RewriteLink(sim+"/o/r/blob/main/m", ""); got != sim+"/o/r/blob/main/m" {
		t.Errorf("without an endpoint, a loopback link changed: %q", got)
	}
}

func TestParseRef(t *testing.T) {
	tests := []struct {
		ref  string
		want Entry
	}{
		{"hf://org/repo/sub/m.safetensors", Entry{Source: HuggingFace, Repo: "org/repo",
			File: "sub/m.safetensors", RepoType: "model"}},
		{"HF://datasets/org/data@refs%2Fpr%2F1/x.bin", Entry{Source: HuggingFace,
			Repo: "org/data", File: "x.bin", RepoType: "dataset", Revision: "refs/pr/1"}},
		{"hf://org/repo@v2/m.gguf", Entry{Source: HuggingFace, Repo: "org/repo",
			File: "m.gguf", RepoType: "model", Revision: "v2"}},
		{"civitai://288982", Entry{Source: CivitAI, VersionID: "288982"}},
		{"civitai://https://civitai.com/models/133005?modelVersionId=288982",
			Entry{Source: CivitAI, VersionID: "288982"}},
		{" https://h/${D}/m.pth ", Entry{Source: URL, URL: "https://h/d/m.pth"}},
	}
	for _, tt := range tests {
		e, err := ParseRef("get", "Loras", tt.ref, env("D", "d"))
		if err != nil {
			t.Fatalf("%s: %v", tt.ref, err)
		}
		tt.want.Key, tt.want.Name, tt.want.Category = "get", "get", "lora"
		if !reflect.DeepEqual(*e, tt.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.ref, *e, tt.want)
		}
	}

	bad := []struct{ ref, want string }{
		{"hf://org/repo", `get: "hf://org/repo" is not hf://owner/name/path/to/file`},
		{"hf://o!/r/f", `get: "hf://o!/r/f" names no repo: "o!/r" is not "owner/name"; ` +
			`write it as the model page shows it, e.g. "stabilityai/stable-diffusion-xl-base-1.0"`},
		{"hf://o/r/../f", `get: "hf://o/r/../f" names no file: "../f" is not a path inside ` +
			`the repo; write it as the repo's file list shows it, e.g. ` +
			`"vae/diffusion_pytorch_model.safetensors"`},
		{"civitai://abc", `get: "abc" is not a number; use the version id from the download ` +
			`link (?modelVersionId=288982)`},
		{"s3://b/k", `get: "s3://b/k" is not an http(s) URL; write the full link, ` +
			`e.g. "https://host/path/model.safetensors"`},
	}
	for _, tt := range bad {
		_, err := ParseRef("get", "vae", tt.ref, env())
		var ve *ValidationError
		if !errors.As(err, &ve) || err.Error() != tt.want {
			t.Errorf("%s:\n got %v\nwant %s", tt.ref, err, tt.want)
		}
	}
	if _, err := ParseRef("get", "nope", "https://h/f", env()); err == nil {
		t.Error("unknown category accepted")
	}
}
