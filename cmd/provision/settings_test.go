package main

import (
	"flag"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/urfave/cli/v2"

	"provision/resolver"
)

// cliContext parses args with the run command's flags, as urfave/cli does.
func cliContext(t *testing.T, args ...string) *cli.Context {
	t.Helper()
	set := flag.NewFlagSet("run", flag.ContinueOnError)
	for _, f := range runFlags() {
		if err := f.Apply(set); err != nil {
			t.Fatal(err)
		}
	}
	if err := set.Parse(args); err != nil {
		t.Fatal(err)
	}
	return cli.NewContext(cli.NewApp(), set, nil)
}

// Each setting: flag > environment > manifest > default.
func TestSettingsPrecedence(t *testing.T) {
	abs := func(p string) string {
		a, _ := filepath.Abs(p)
		return a
	}
	manifest := &resolver.Settings{ModelsDir: "m-models", LinkDir: "m-link", Layout: "comfyui",
		Connections: 8, MaxRate: "10MB/s", Folders: map[string]string{"lora": "m_loras",
			"vae": "m_vae"}}
	env := map[string]string{
		"PROVISION_MODELS_DIR": "e-models", "PROVISION_LINK_DIR": "e-link",
		"PROVISION_LAYOUT": "forge", "PROVISION_CONNECTIONS": "4", "PROVISION_MAX_RATE": "20MB/s",
		"PROVISION_LOG_FILE": "e.log", "PROVISION_FOLDERS": "loras=e_loras,clip=e_te",
		"PROVISION_QUIET": "1", "PROVISION_VERBOSE": "yes", "PROVISION_JSON": "true",
		"PROVISION_LAUNCH_ANYWAY": "on",
	}
	flags := []string{"--models-dir", "f-models", "--link-dir", "f-link", "--layout", "fooocus",
		"--connections", "2", "--max-rate", "30MB/s", "--log-file", "f.log",
		"--folders", "lora=f_loras", "--quiet=false", "--verbose=false", "--json=false",
		"--launch-anyway=false"}

	cases := []struct {
		name     string
		flags    []string
		env      map[string]string
		manifest *resolver.Settings
		want     config
	}{
		{"defaults", nil, nil, nil, config{ModelsDir: abs("models"), Layout: "fooocus",
			Connections: 16}},
		{"manifest", nil, nil, manifest, config{ModelsDir: abs("m-models"),
			LinkDir: abs("m-link"), Layout: "comfyui", Connections: 8, MaxRate: 10e6,
			Folders: map[string]string{"lora": "m_loras", "vae": "m_vae"}}},
		{"environment over manifest", nil, env, manifest, config{ModelsDir: abs("e-models"),
			LinkDir: abs("e-link"), Layout: "a1111", Connections: 4, MaxRate: 20e6,
			LogFile: "e.log", Quiet: true, Verbose: true, JSON: true, LaunchAnyway: true,
			Folders: map[string]string{"lora": "e_loras", "vae": "m_vae",
				"text_encoder": "e_te"}}},
		{"flags over environment", flags, env, manifest, config{ModelsDir: abs("f-models"),
			LinkDir: abs("f-link"), Layout: "fooocus", Connections: 2, MaxRate: 30e6,
			LogFile: "f.log",
			Folders: map[string]string{"lora": "f_loras", "vae": "m_vae",
				"text_encoder": "e_te"}}},
	}
	for _, c := range cases {
		e := &environment{getenv: func(k string) string { return c.env[k] },
			container: func() bool { return false }}
		got, err := e.loadConfig(cliContext(t, c.flags...), c.manifest)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !reflect.DeepEqual(*got, c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, *got, c.want)
		}
	}
}

func TestContainerDefaults(t *testing.T) {
	cases := []struct {
		layout, models, link string
	}{
		{"fooocus", "/workspace/fooocus/models", "/opt/fooocus/models"},
		{"comfyui", "/workspace/comfyui/models", ""},
		{"a1111", "/workspace/a1111/models", ""},
	}
	for _, c := range cases {
		e := &environment{getenv: func(k string) string {
			if k == "PROVISION_LAYOUT" {
				return c.layout
			}
			return ""
		}, container: func() bool { return true }}
		got, err := e.loadConfig(nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got.ModelsDir != c.models || got.LinkDir != c.link ||
			got.LogFile != "/workspace/logs/provision.log" {
			t.Errorf("%s in a container: models %q link %q log %q; want %q %q and the "+
				"/workspace log", c.layout, got.ModelsDir, got.LinkDir, got.LogFile, c.models,
				c.link)
		}
	}
}

func TestSettingsErrors(t *testing.T) {
	cases := map[string]string{
		"PROVISION_FOLDERS=lora": `PROVISION_FOLDERS: "lora" is not category=folder (e.g. lora=my_loras)`,
		"PROVISION_FOLDERS=models=x": `PROVISION_FOLDERS: "models" is not a category; ` +
			`valid categories are checkpoints, clip_vision, controlnet, embeddings, ` +
			`hypernetworks, inpaint, lora, text_encoder, upscale_models, vae`,
		"PROVISION_CONNECTIONS=lots": `PROVISION_CONNECTIONS="lots" is not a number from 1 to 256`,
		"PROVISION_LAYOUT=comfi":     `PROVISION_LAYOUT="comfi" is not one of fooocus, comfyui, a1111`,
		"PROVISION_MAX_RATE=fast":    `PROVISION_MAX_RATE="fast": parse rate "fast"`,
		"PROVISION_CONNECTIONS= 300": `PROVISION_CONNECTIONS="300" is not a number from 1 to 256`,
		"PROVISION_QUIET=maybe": `PROVISION_QUIET="maybe" is not a switch; use 1, true, yes or on ` +
			`(or 0, false, no, off)`,
		"DRY_RUN=sure": `DRY_RUN="sure" is not a switch`,
	}
	for kv, want := range cases {
		k, v, _ := cutEq(kv)
		e := &environment{getenv: func(name string) string {
			if name == k {
				return v
			}
			return ""
		}, container: func() bool { return false }}
		_, err := e.loadConfig(nil, nil)
		if err == nil || len(err.Error()) < len(want) || err.Error()[:len(want)] != want {
			t.Errorf("%s: error %v, want %q", kv, err, want)
		}
	}
}

func cutEq(s string) (string, string, bool) {
	for i := range s {
		if s[i] == '=' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
