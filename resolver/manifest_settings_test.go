package resolver

import (
	"reflect"
	"testing"
)

func TestParseManifestSettings(t *testing.T) {
	m := parse(t, `
[settings]
models_dir = "/workspace/fooocus/models"
link_dir = "/opt/fooocus/models"
layout = "Forge"
connections = 16
max_rate = 209715200

[settings.folders]
loras = "Lora"
Stable-diffusion = "models/Stable-diffusion/"
`)
	want := Settings{ModelsDir: "/workspace/fooocus/models", LinkDir: "/opt/fooocus/models",
		Layout: "a1111", Connections: 16, MaxRate: "209715200",
		Folders: map[string]string{"lora": "Lora", "checkpoints": "models/Stable-diffusion"}}
	if !reflect.DeepEqual(m.Settings, want) {
		t.Errorf("got  %+v\nwant %+v", m.Settings, want)
	}
	for spelling, want := range map[string]string{
		"fooocus": "fooocus", "ComfyUI": "comfyui", "comfy": "comfyui", "A1111": "a1111",
		"automatic1111": "a1111", "sd-webui": "a1111",
	} {
		m := parse(t, "[settings]\nlayout = \""+spelling+"\"\nmax_rate = \"200MB/s\"\n")
		if m.Settings.Layout != want || m.Settings.MaxRate != "200MB/s" {
			t.Errorf("layout %q: got %+v", spelling, m.Settings)
		}
	}
	got := problemsOf(t, "[settings]\nfolders = { vae = \"a\", vaes = \"b\" }\n"+
		"connections = 300\n", env())
	wantErrs := []string{
		`settings: field folders.vaes: category vae already has folder "a"`,
		"settings: field connections: 300 is out of range; valid: 1 to 256",
	}
	if !reflect.DeepEqual(got, wantErrs) {
		t.Errorf("got  %q\nwant %q", got, wantErrs)
	}
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		in   string
		want float64
	}{
		{"", 0}, {"0", 0}, {"unlimited", 0}, {"OFF", 0}, {" none ", 0},
		{"1048576", 1 << 20}, {"100B/s", 100},
		{"200MB/s", 200e6}, {"200 MB/s", 200e6}, {"200mb", 200e6}, {"1.5GB", 1.5e9},
		{"50M", 50 << 20}, {"50m/s", 50 << 20}, {"512K", 512 << 10}, {"2G", 2 << 30},
		{"10MiB/s", 10 << 20}, {"1GiB", 1 << 30}, {"64KiB/s", 64 << 10}, {"1TB", 1e12},
		{"800Mbit/s", 100e6}, {"800Mbits", 100e6}, {"100Mbps", 12.5e6}, {"8bit", 1},
		{"1Gbps", 125e6}, {"20MBps", 20e6},
	}
	for _, tt := range tests {
		got, err := ParseRate(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"fast", "-5M", "5X", "M", ".", "1e400", "1.2.3M", "5 M B"} {
		if got, err := ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) = %v, want an error", bad, got)
		}
	}
	_, err := ParseRate("5X")
	if err == nil || err.Error() != `parse rate "5X": unknown unit "X"; use B, K, M, G, KB, `+
		`MB, GB, KiB, MiB, GiB, or Mbit` {
		t.Errorf("message: %v", err)
	}
}
