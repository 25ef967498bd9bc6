package resolver

import (
	"context"
	"errors"
	"strings"
	"testing"

	"provision/bench/sim"
)

// The link forms users paste (CASES.md C9: page links, Drive, GitHub, Dropbox), resolved
// end to end against the simulator's Google Drive, GitHub and Dropbox,
// which it serves under FilesURL + "/<real host>/...".

// linkSim starts the default catalog plus a Drive file behind each of the
// pages Drive shows instead of a file.
func linkSim(t *testing.T) *sim.Sim {
	t.Helper()
	cat := sim.DefaultCatalog()
	cat.Drive = append(cat.Drive,
		&sim.DriveFile{ID: "1QuotaFileId", Name: "busy.safetensors", Size: 4096,
			Refuse: sim.DriveQuota},
		&sim.DriveFile{ID: "1PrivateFileId", Name: "mine.safetensors", Size: 4096,
			Refuse: sim.DriveSignIn})
	s, err := sim.Start(sim.Config{Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestRewriteLinkOnLoopbackMirror(t *testing.T) {
	const m = "http://127.0.0.1:8080/"
	tests := []struct{ in, want string }{
		{m + "github.com/o/r/blob/main/m.toml", m + "raw.githubusercontent.com/o/r/main/m.toml"},
		{m + "drive.google.com/file/d/1AbC/view?usp=sharing",
			m + "drive.google.com/uc?export=download&id=1AbC"},
		{m + "www.dropbox.com/scl/fi/abc/m.toml?rlkey=k1&dl=0",
			m + "www.dropbox.com/scl/fi/abc/m.toml?dl=1&rlkey=k1"},
		{"http://localhost:1/github.com/o/r/raw/v1/x.pt",
			"http://localhost:1/raw.githubusercontent.com/o/r/v1/x.pt"},
		{m + "raw.githubusercontent.com/o/r/main/m.toml",
			m + "raw.githubusercontent.com/o/r/main/m.toml"},
		{m + "github.com/o/r", m + "github.com/o/r"},
		{m + "example.com/o/r/blob/main/x", m + "example.com/o/r/blob/main/x"},
		// Only loopback hosts are mirrors.
		{"https://files.example/github.com/o/r/blob/main/x",
			"https://files.example/github.com/o/r/blob/main/x"},
	}
	for _, tt := range tests {
		if got := RewriteLink(tt.in, ""); got != tt.want {
			t.Errorf("RewriteLink(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPastedLinksAgainstSimulator(t *testing.T) {
	s := linkSim(t)
	r, _ := newTestResolver(Config{HFEndpoint: s.HubURL})
	ctx := context.Background()
	base := s.FilesURL + "/"
	gh := func(p string) *sim.GitHubFile {
		for _, f := range s.Catalog.GitHub {
			if f.Path == p {
				return f
			}
		}
		t.Fatalf("sim has no GitHub file %s", p)
		return nil
	}
	drive := func(id string) *sim.DriveFile {
		for _, f := range s.Catalog.Drive {
			if f.ID == id {
				return f
			}
		}
		t.Fatalf("sim has no Drive file %s", id)
		return nil
	}
	lfs := gh("upscalers/RealESRGAN_x4plus.pth")
	plain := gh("embeddings/small_embed.pt")
	small := drive("1SmallVaeFileId0123456789abcdEFG")
	big := drive("1BigLoraFileId0123456789abcdEFGH")
	box := s.Catalog.Dropbox[0]

	cases := []struct {
		name, link, rel, sha string
		size                 int64
		shaKnown             bool // the source told the sha256 (an LFS pointer)
	}{
		{"github blob of an LFS file", base + "github.com/someone/models/blob/main/" + lfs.Path,
			"RealESRGAN_x4plus.pth", lfs.SHA256(), lfs.Size, true},
		{"github raw of an LFS file", base + "raw.githubusercontent.com/someone/models/main/" +
			lfs.Path, "RealESRGAN_x4plus.pth", lfs.SHA256(), lfs.Size, true},
		{"github /raw/ of a plain file", base + "github.com/someone/models/raw/main/" +
			plain.Path, "small_embed.pt", plain.SHA256(), plain.Size, false},
		{"drive share link", base + "drive.google.com/file/d/" + small.ID + "/view?usp=sharing",
			small.Name, small.SHA256(), small.Size, false},
		{"drive virus-scan page", base + "drive.google.com/file/d/" + big.ID + "/view",
			big.Name, big.SHA256(), big.Size, false},
		{"drive open link", base + "drive.google.com/open?id=" + big.ID,
			big.Name, big.SHA256(), big.Size, false},
		{"dropbox dl=0", base + "www.dropbox.com/scl/fi/" + box.ID + "/" + box.Name +
			"?rlkey=" + box.RLKey + "&dl=0", box.Name, box.SHA256(), box.Size, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts, err := r.Resolve(ctx, plainEntry(c.link))
			if err != nil {
				t.Fatal(err)
			}
			tg := ts[0]
			if tg.Rel != c.rel || tg.Size != c.size || (tg.SHA256 == c.sha) != c.shaKnown {
				t.Fatalf("target rel %q size %d sha %q; want %q %d (sha known %v)", tg.Rel,
					tg.Size, tg.SHA256, c.rel, c.size, c.shaKnown)
			}
			if got := fetch(t, tg); sum(got) != c.sha {
				t.Fatalf("fetched bytes hash %s, want %s", sum(got), c.sha)
			}
		})
	}
}

func TestPastedLinksThatAreNotFiles(t *testing.T) {
	s := linkSim(t)
	r, _ := newTestResolver(Config{HFEndpoint: s.HubURL})
	ctx := context.Background()
	base := s.FilesURL + "/"
	cases := []struct {
		name, link string
		kind       error
		says       string
	}{
		{"drive quota page", base + "drive.google.com/file/d/1QuotaFileId/view", ErrNotAFile,
			"the host says the file's download quota is exceeded; use the file's direct " +
				"download link"},
		{"drive sign-in page", base + "drive.google.com/file/d/1PrivateFileId/view",
			ErrNotAFile, "the host asks to sign in; the link is not public"},
		{"drive unknown id", base + "drive.google.com/file/d/1NoSuchId/view", ErrFileNotFound,
			"has no file there (404); check the url"},
		{"github blob of a missing file", base + "github.com/someone/models/blob/main/none.pt",
			ErrFileNotFound, "has no file there (404); check the url"},
		{"dropbox wrong rlkey", base + "www.dropbox.com/scl/fi/abc123xyz/" +
			"dropbox_lora.safetensors?rlkey=nope&dl=0", ErrFileNotFound,
			"has no file there (404)"},
		{"github folder page", base + "github.com/someone/models/tree/main/upscalers",
			ErrFileNotFound, "has no file there (404)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := r.Resolve(ctx, plainEntry(c.link))
			if !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.says) ||
				!strings.HasPrefix(err.Error(), "models.upscale_models.u: ") {
				t.Fatalf("got %v; want %v saying %q", err, c.kind, c.says)
			}
		})
	}
}
