package main

import (
	"context"
	"path"
	"strings"
	"testing"

	"provision/bench/sim"
)

// An entry whose headers use an unset ${VAR} fails alone, at resolve time,
// with exit 1: the manifest is valid, the other entries complete, an
// optional entry does not block the launch, and exporting the variable
// fixes it. The message names the entry, the field and the variable, and
// never a value.
func TestUnsetVarFailsOnlyItsEntry(t *testing.T) {
	h := newHarness(t, sim.Config{})
	ultra := h.sim.Catalog.File("models/4x-UltraSharp.pth")
	private := h.sim.Catalog.File("private/model.safetensors")
	m := h.manifest(`
[models.upscale_models]
ultra = "http://files.sim/` + ultra.Name + `"
[models.vae]
private = { url = "http://files.sim/private/model.safetensors", optional = true, ` +
		`headers = { X-Api-Key = "${DEMO_KEY}" } }
`)
	const why = "models.vae.private: field headers.X-Api-Key uses ${DEMO_KEY}, but " +
		"environment variable DEMO_KEY is not set; export DEMO_KEY before running " +
		"provision (an empty value counts as unset)"

	code, out := h.run(context.Background(), "plan", m)
	if code != exitFailed || !strings.Contains(out, "\nwill fail:\n  - "+why+"\n") {
		t.Fatalf("plan: exit %d, want %d and the reason %q:\n%s", code, exitFailed, why, out)
	}
	if !strings.Contains(out, "will fail: variable not set") {
		t.Errorf("plan's status column should say the variable is not set:\n%s", out)
	}

	code, out = h.run(context.Background(), "run", m)
	if code != exitFailed || !strings.Contains(out, why) {
		t.Fatalf("run: exit %d, want %d and the reason %q:\n%s", code, exitFailed, why, out)
	}
	h.wantFile("upscale_models/"+path.Base(ultra.Name), ultra.SHA256())
	h.wantNothingAt("vae", "model")
	for _, r := range h.sim.Stats().Log {
		if strings.Contains(r.Path, "private") {
			t.Errorf("a request went out for the entry without its header: %s %s",
				r.Method, r.Path)
		}
	}

	// Optional: the launch goes ahead without it.
	code, out, rec := runRecorded(t, h, "run", m, "--models-dir", h.models, "--", "sh")
	if code != 0 || rec == nil {
		t.Fatalf("launch: exit %d, launched %v:\n%s", code, rec, out)
	}

	// Exported, the same manifest fetches the entry; the value never shows.
	h.env["DEMO_KEY"] = sim.DemoAPIKey
	code, out = h.run(context.Background(), "run", m)
	if code != 0 {
		t.Fatalf("with DEMO_KEY: exit %d:\n%s", code, out)
	}
	h.wantFile("vae/model.safetensors", private.SHA256())
	if strings.Contains(out, sim.DemoAPIKey) {
		t.Error("the header's value was printed")
	}
}
