package main

import (
	"errors"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mattn/go-runewidth"
	"github.com/vbauerster/mpb/v8/decor"

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

// A bar line never reaches a terminal's last column: the name, the
// counters, the bar and the widest rate text add up to less than cols;
// narrow terminals drop the ETA first.
func TestBarLayoutFits(t *testing.T) {
	for _, c := range []struct {
		cols       int
		eta, speed bool
	}{{80, false, true}, {100, true, true}, {120, true, true}, {200, true, true},
		{60, false, false}} {
		l := barLayoutFor(c.cols)
		rate := rateWidthNone
		if l.speed {
			rate = rateWidthSpeed
		}
		if l.eta {
			rate = rateWidthETA
		}
		if w := l.names + countersWidth + barGaps + l.bar + rate; w > c.cols-1 || l.names < 12 {
			t.Errorf("%d columns: %+v is %d wide", c.cols, l, w)
		}
		if l.eta != c.eta || l.speed != c.speed {
			t.Errorf("%d columns: eta %v speed %v, want %v %v", c.cols, l.eta, l.speed, c.eta,
				c.speed)
		}
	}
	f := &fileBar{lay: barLayout{speed: true, eta: true}}
	f.size.Store(1023 << 20)
	f.done.Store(1000 << 20)
	f.speed.Store(math.Float64bits(1023 << 20))
	if got := f.counters(decor.Statistics{}); len(got) != countersWidth {
		t.Errorf("counters %q: %d columns, want %d", got, len(got), countersWidth)
	}
	if got := f.rate(decor.Statistics{}); len(got) > rateWidthETA {
		t.Errorf("rate %q wider than %d", got, rateWidthETA)
	}
}

// Shortened names keep the whole file name when they can, else its
// start and extension, so that two files stay told apart.
func TestFitName(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"checkpoints/flux1-dev.safetensors", 40, "checkpoints/flux1-dev.safetensors"},
		{"checkpoints/flux1-dev.safetensors", 28, "check…/flux1-dev.safetensors"},
		{"checkpoints/flux1-dev.safetensors", 23, "…/flux1-dev.safetensors"},
		{"checkpoints/flux1-dev.safetensors", 22, "flux1-dev.safetensors"},
		{"checkpoints/sd_xl_base_1.0_0.9vae.safetensors", 24, "sd_xl_base_….safetensors"},
		{"embeddings/pack/negative/bad_hands_5.pt", 24, "embeddin…/bad_hands_5.pt"},
		{"loras/日本語のモデル名.safetensors", 20, "日本語の…afetensors"},
	} {
		got := fitName(c.in, c.n)
		if got != c.want || runewidth.StringWidth(got) > c.n {
			t.Errorf("fitName(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
	if got := totalText(3, 2, 28); got != "total (3 active, 2 queued)" {
		t.Errorf("totalText = %q", got)
	}
	if got := totalText(12, 30, 16); got != "total 12+30" {
		t.Errorf("narrow totalText = %q", got)
	}
}

// The summary table stays aligned with wide (CJK) names.
func TestWriteTableWide(t *testing.T) {
	var out strings.Builder
	writeTable(&out, [][]string{{"ENTRY", "FILE", "STATUS"}, {"a", "loras/日本.pt", "done"},
		{"bb", "loras/x.pt", "FAILED"}})
	want := "ENTRY  FILE           STATUS\n" +
		"a      loras/日本.pt  done\n" +
		"bb     loras/x.pt     FAILED\n"
	if out.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestDedupe(t *testing.T) {
	got := dedupe([]string{"x: full", "y: gone", "x: full", "x: full"})
	want := []string{"x: full (3 files)", "y: gone"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("dedupe = %q, want %q", got, want)
	}
}
