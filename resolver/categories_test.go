package resolver

import (
	"reflect"
	"testing"
)

func TestCategories(t *testing.T) {
	want := []string{"checkpoints", "lora", "vae", "embeddings", "controlnet",
		"upscale_models", "inpaint", "text_encoder", "hypernetworks", "clip_vision"}
	if got := categoryNames(); !reflect.DeepEqual(got, want) {
		t.Errorf("categories %q", got)
	}
	cs := Categories()
	cs[0].Aliases[0] = "changed"
	if Categories()[0].Aliases[0] == "changed" {
		t.Error("Categories returns shared slices")
	}
	seen := make(map[string]string)
	for _, c := range Categories() {
		for _, a := range append([]string{c.Name}, c.Aliases...) {
			if prev, dup := seen[a]; dup {
				t.Errorf("%q names both %s and %s", a, prev, c.Name)
			}
			seen[a] = c.Name
			if normName(a) != a {
				t.Errorf("alias %q is not written in normal form", a)
			}
		}
		if c.Description == "" {
			t.Errorf("%s has no description", c.Name)
		}
	}
	for _, bad := range []string{"", "lorra", "models", "checkpoints/"} {
		if c, ok := CanonicalCategory(bad); ok {
			t.Errorf("CanonicalCategory(%q) = %q", bad, c)
		}
	}
	for s, want := range map[string]Source{"HF": HuggingFace, "hugging-face": HuggingFace,
		"Civitai": CivitAI, "URL": URL, "link": URL} {
		if got, ok := parseSource(s); !ok || got != want {
			t.Errorf("parseSource(%q) = %q", s, got)
		}
	}
	if !reflect.DeepEqual(Layouts(), []string{"fooocus", "comfyui", "a1111"}) {
		t.Errorf("Layouts() = %q", Layouts())
	}
	for alias, canon := range layoutIndex {
		if got, ok := CanonicalLayout(canon); !ok || got != canon {
			t.Errorf("layout alias %q maps to non-canonical %q", alias, canon)
		}
	}
	if l, ok := CanonicalLayout("Sd-WebUI"); !ok || l != "a1111" {
		t.Errorf("CanonicalLayout(Sd-WebUI) = %q, %v", l, ok)
	}
	if l, ok := CanonicalLayout("invoke"); ok {
		t.Errorf("CanonicalLayout(invoke) = %q", l)
	}
}
