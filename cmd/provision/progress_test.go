package main

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"provision/resolver"
)

func testItem(label string, size int64) *item {
	e := &resolver.Entry{Key: "models.lora." + label}
	return &item{entry: e, target: &resolver.Target{Size: size}, label: "loras/" + label,
		size: size}
}

// Plain lines: a start line, "queued" said once however long a file
// waits, a done line with the verification, FAILED with the reason.
func TestLineReporterLines(t *testing.T) {
	var out strings.Builder
	track := newTracker(time.Hour) // sampled by hand below
	r := &lineReporter{w: &out, track: track, begin: time.Now(),
		active: map[*item]sample{}, saidQueued: map[*item]bool{}}
	a, b := testItem("a.safetensors", 2<<20), testItem("b.safetensors", 1<<20)
	for _, it := range []*item{a, b} {
		it.set(statusActive, nil)
		r.start(it)
	}
	r.tick(time.Now().Add(time.Second))
	r.tick(time.Now().Add(2 * time.Second))
	a.fetched = 2 << 20
	a.set(statusDone, nil)
	r.finish(a)
	b.set(statusFailed, errors.New("models.lora.b.safetensors: gone (404); check the url"))
	r.finish(b)
	track.close()

	got := regexp.MustCompile(`\[ *[0-9.]+s\] `).ReplaceAllString(out.String(), "[t] ")
	got = regexp.MustCompile(` in [0-9.]+[mµn]?s \([0-9.]+ [KMG]iB/s\)`).ReplaceAllString(got,
		" in T (S)")
	want := "[t] start       loras/a.safetensors (2.0 MiB)\n" +
		"[t] start       loras/b.safetensors (1.0 MiB)\n" +
		"[t] queued      loras/a.safetensors  waiting for a connection (2.0 MiB)\n" +
		"[t] queued      loras/b.safetensors  waiting for a connection (1.0 MiB)\n" +
		"[t] done        loras/a.safetensors  2.0 MiB in T (S), size verified\n" +
		"[t] FAILED      loras/b.safetensors: models.lora.b.safetensors: gone (404); " +
		"check the url\n"
	if got != want {
		t.Errorf("lines:\n%s\nwant:\n%s", got, want)
	}
}

func TestNameWidth(t *testing.T) {
	for cols, want := range map[int]int{0: 48, 80: 16, 100: 20, 128: 48, 300: 48} {
		if got := nameWidth(cols); got != want {
			t.Errorf("nameWidth(%d) = %d, want %d", cols, got, want)
		}
	}
}

func TestDedupe(t *testing.T) {
	got := dedupe([]string{"x: full", "y: gone", "x: full", "x: full"})
	want := []string{"x: full (3 files)", "y: gone"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("dedupe = %q, want %q", got, want)
	}
}
