package bench

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"provision/bench/sim"
	"provision/store"
)

// TestRun downloads two simulated files through the real path into a
// folder, checks their bytes, and counts what was fetched; a wrong sha256
// fails with the store's VerifyError.
func TestRun(t *testing.T) {
	const size = 3<<20 + 7
	cat := &sim.Catalog{Files: []*sim.PlainFile{
		{Name: "bench/f00.bin", Size: size}, {Name: "bench/f01.bin", Size: size}}}
	s, err := sim.Start(sim.Config{Catalog: cat, Faults: sim.Faults{DropEvery: 1 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var files []File
	for _, pf := range cat.Files {
		files = append(files, File{URL: s.FilesURL + "/" + pf.Name, Size: size,
			SHA256: pf.SHA256()})
	}
	dir := t.TempDir()
	for range 2 { // a second run replaces the first one's files
		res, err := Run(context.Background(), Options{Files: files, Dir: dir,
			Connections: 4, ChunkSize: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		if res.Bytes != 2*size || res.Fetched != 2*size || res.Requests < 8 || res.Wall <= 0 {
			t.Fatalf("result %+v", res)
		}
	}
	for i, pf := range cat.Files {
		b, err := os.ReadFile(filepath.Join(dir, []string{"0-f00.bin", "1-f01.bin"}[i]))
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != pf.SHA256() {
			t.Fatalf("%s: wrong bytes", pf.Name)
		}
	}

	files[1].SHA256 = files[0].SHA256[:63] + "0"
	_, err = Run(context.Background(), Options{Files: files[1:], Connections: 2})
	var ve *store.VerifyError
	if !errors.As(err, &ve) || ve.Check != "sha256" {
		t.Fatalf("err = %v", err)
	}
}

// TestKnobs: the simulator command line and the ideal time of a scenario.
func TestKnobs(t *testing.T) {
	k := Knobs{Size: 2 << 30, ConnRate: 25_000_000, Latency: 20 * time.Millisecond}
	want := "sim --size=2147483648 --files=1 --conn-rate=25000000 --latency=20ms"
	if got := strings.Join(k.SimArgs(), " "); got != want {
		t.Fatalf("args %q, want %q", got, want)
	}
	if d, ok := k.Ideal(16); !ok || d.Round(time.Millisecond) != 5369*time.Millisecond {
		t.Fatalf("ideal %v %v", d, ok)
	}
	k.TotalRate = 100_000_000
	if d, _ := k.Ideal(16); d.Round(time.Millisecond) != 21475*time.Millisecond {
		t.Fatalf("ideal with a total cap %v", d)
	}
	if _, ok := (Knobs{Size: 1}).Ideal(16); ok {
		t.Fatal("an uncapped scenario has an ideal")
	}
	f, ok := parseFileLine("# file http://127.0.0.1:1/bench/f00.bin 42 abc")
	if !ok || f.URL != "http://127.0.0.1:1/bench/f00.bin" || f.Size != 42 || f.SHA256 != "abc" {
		t.Fatalf("parsed %+v %v", f, ok)
	}
	if _, ok := parseFileLine("export FILES_URL=x"); ok {
		t.Fatal("parsed a non-file line")
	}
}
