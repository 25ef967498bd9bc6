package crash

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"provision/bench/sim"
	"provision/internal/span"
)

func envInt(name string, def int64) int64 {
	if v, err := strconv.ParseInt(os.Getenv(name), 10, 64); err == nil && v > 0 {
		return v
	}
	return def
}

// TestKill9Bench kills the binary CRASH_KILLS times while it downloads a
// CRASH_SIZE file, then lets it finish, and reports the bytes fetched twice:
// in all, and across runs (what a later run fetched that an earlier one had
// already received: the cost of the kills alone).
func TestKill9Bench(t *testing.T) {
	if os.Getenv("CRASH_BENCH") == "" {
		t.Skip("set CRASH_BENCH=1 to run the kill -9 benchmark")
	}
	size := envInt("CRASH_SIZE", 4<<30)
	kills := int(envInt("CRASH_KILLS", 20))
	conns := envInt("CRASH_CONNS", 16)
	seed := uint64(envInt("CRASH_SEED", time.Now().UnixNano()))
	base := os.Getenv("CRASH_DIR")
	if base == "" {
		base = "/dev/shm"
	}
	rng := rand.New(rand.NewPCG(seed, 0))

	work, err := os.MkdirTemp(base, "provision-crash-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(work)
	bin := filepath.Join(t.TempDir(), "provision")
	if out, err := exec.Command("go", "build", "-o", bin, "provision/cmd/provision").
		CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cat := &sim.Catalog{Repos: []*sim.Repo{{ID: "bench/crash",
		Files: []*sim.RepoFile{{Path: "model.safetensors", Size: size}}}}}
	s, err := sim.Start(sim.Config{Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	file := cat.Repo("bench/crash").File("model.safetensors")
	manifest := filepath.Join(work, "provision.toml")
	if err := os.WriteFile(manifest, []byte("[models.checkpoints]\nm = { repo = \"bench/crash\", "+
		"file = \"model.safetensors\" }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	models := filepath.Join(work, "models")
	final := filepath.Join(models, "checkpoints", "model.safetensors")

	// Each run is killed after a random CRASH_MIN_MS..CRASH_MAX_MS
	// (default 200..1200 ms): long enough for checkpoints to happen, short
	// enough that 20 kills land inside a 4 GiB download on loopback.
	lo, hi := envInt("CRASH_MIN_MS", 200), envInt("CRASH_MAX_MS", 1200)
	start := func() (*exec.Cmd, error) {
		c := exec.Command(bin, "run", manifest, "--models-dir", models, "-q",
			"--connections", strconv.FormatInt(conns, 10))
		c.Env = append(s.Env(), "PATH="+os.Getenv("PATH"), "HOME="+work)
		c.Stdout, c.Stderr = io.Discard, io.Discard
		return c, c.Start()
	}
	t.Logf("file %d bytes, %d kills, %d connections, seed %d, folder %s",
		size, kills, conns, seed, work)
	var runs [][]span.Range // what the sim sent during each run
	mark := 0
	snap := func() {
		time.Sleep(200 * time.Millisecond) // let the server note the cut answers
		sent := s.Stats().File(file.Seed()).Sent
		runs = append(runs, sent[mark:])
		mark = len(sent)
	}
	killed := 0
	began := time.Now()
	for killed < kills {
		c, err := start()
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(lo+rng.Int64N(hi-lo+1)) * time.Millisecond)
		c.Process.Signal(syscall.SIGKILL)
		err = c.Wait()
		snap()
		var ee *exec.ExitError
		if err == nil || (errors.As(err, &ee) && ee.ExitCode() >= 0) {
			break // ended by itself before the kill
		}
		killed++
		if _, err := os.Stat(final); err == nil {
			break
		}
	}
	c, err := start()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(); err != nil {
		t.Fatalf("final run: %v", err)
	}
	snap()
	elapsed := time.Since(began)

	got := fileSHA(t, final)
	if got != file.SHA256() {
		t.Fatalf("sha256 %s, want %s", got, file.SHA256())
	}
	st := s.Stats().File(file.Seed())
	var had span.Set
	var across int64
	for _, r := range runs {
		for _, x := range r {
			across += x.Len() - (had.Add(x).Total() - had.Total())
		}
		for _, x := range r {
			had = had.Add(x)
		}
	}
	if had.Total() != size {
		t.Errorf("runs were served %d distinct bytes, want %d", had.Total(), size)
	}
	mib := func(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
	t.Logf("RESULT: %d kills, %s file, sha256 ok, %s in %v", killed, mib(size),
		mib(st.Bytes), elapsed.Round(time.Millisecond))
	t.Logf("RESULT: fetched twice in all %s (%.2f %%); across kills %s = %s per kill "+
		"(bound: %d connections x 8 MiB = %s per kill)", mib(st.Refetched()),
		100*float64(st.Refetched())/float64(size), mib(across), mib(across/int64(max(killed, 1))),
		conns, mib(conns*8<<20))
}

func fileSHA(t *testing.T, p string) string {
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}
