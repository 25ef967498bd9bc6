package sim

import (
	"html"
	"net/http"
	"net/url"
	"strings"
)

// DriveScanLimit is the size above which the simulated Google Drive
// answers a download link with its "can't scan this file for viruses"
// confirmation page instead of the file (the real limit is about 100 MB).
const DriveScanLimit = 1 << 20

// DriveFile is a Google Drive file shared by link.
type DriveFile struct {
	ID   string // the id in drive.google.com/file/d/<ID>/view
	Name string
	Size int64
	Body []byte // exact content (Size is then ignored); nil for a virtual file

	// Refuse makes every download answer a 200 HTML page instead of the
	// file: DriveQuota ("Download quota exceeded") or DriveSignIn (the
	// Google sign-in page of a file that is not shared publicly).
	Refuse string
}

// GitHubFile is a file in a GitHub repository. An LFS file's raw URL
// gives its pointer text; its bytes are at the media URL.
type GitHubFile struct {
	Repo string // "owner/name"
	Ref  string // branch, tag or commit
	Path string
	Size int64
	LFS  bool
	Body []byte // exact content (Size is then ignored); nil for a virtual file
}

// DropboxFile is a Dropbox file shared by link.
type DropboxFile struct {
	ID, Name, RLKey string // www.dropbox.com/scl/fi/<ID>/<Name>?rlkey=<RLKey>
	Size            int64
	Body            []byte // exact content (Size is then ignored); nil for a virtual file
}

// Seed returns "drive/<id>/<name>" (wrapped by SafetensorsSeed for
// .safetensors names), the virtual file the Drive link serves.
func (f *DriveFile) Seed() string { return seedFor("drive/"+f.ID+"/"+f.Name, 0, f.Size) }

// SHA256 returns the lowercase hex sha256 of the file's bytes.
func (f *DriveFile) SHA256() string { return blobOf(f.Seed(), f.Size, f.Body).sha256() }

// Seed returns "github/<repo>/<ref>/<path>" (wrapped by SafetensorsSeed for
// .safetensors names).
func (f *GitHubFile) Seed() string {
	return seedFor("github/"+f.Repo+"/"+f.Ref+"/"+f.Path, 0, f.Size)
}

// SHA256 returns the lowercase hex sha256 of the file's bytes.
func (f *GitHubFile) SHA256() string { return blobOf(f.Seed(), f.Size, f.Body).sha256() }

// Seed returns "dropbox/<id>/<name>" (wrapped by SafetensorsSeed for
// .safetensors names).
func (f *DropboxFile) Seed() string { return seedFor("dropbox/"+f.ID+"/"+f.Name, 0, f.Size) }

// SHA256 returns the lowercase hex sha256 of the file's bytes.
func (f *DropboxFile) SHA256() string { return blobOf(f.Seed(), f.Size, f.Body).sha256() }

// extra serves the link forms users paste on the plain file host (see the
// package documentation for the paths); it reports whether p was one.
func (s *Sim) extra(w http.ResponseWriter, r *http.Request, p string) bool {
	host, rest, _ := strings.Cut(p, "/")
	switch host {
	case "drive.google.com", "drive.usercontent.google.com":
		s.setKind(r, "drive")
		s.drive(w, r, host, rest)
	case "github.com", "raw.githubusercontent.com", "media.githubusercontent.com":
		s.setKind(r, "github")
		s.github(w, r, host, rest)
	case "www.dropbox.com", "dl.dropboxusercontent.com":
		s.setKind(r, "dropbox")
		s.dropbox(w, r, host, rest)
	default:
		return false
	}
	return true
}

func (s *Sim) drive(w http.ResponseWriter, r *http.Request, host, rest string) {
	q := r.URL.Query()
	var f *DriveFile
	find := func(id string) {
		for _, d := range s.Catalog.Drive {
			if d.ID == id {
				f = d
			}
		}
	}
	switch {
	case host == "drive.google.com" && strings.HasPrefix(rest, "file/d/"):
		id, _, _ := strings.Cut(strings.TrimPrefix(rest, "file/d/"), "/")
		if find(id); f != nil {
			htmlPage(w, http.StatusOK, f.Name+" - Google Drive",
				"<p>"+html.EscapeString(f.Name)+"</p><a href=\"/uc?id="+f.ID+
					"&amp;export=download\">Download</a>")
			return
		}
	case host == "drive.google.com" && rest == "uc":
		if find(q.Get("id")); f != nil {
			if f.Refuse != "" {
				driveRefusal(w, f)
				return
			}
			if s.byKey["drive:"+f.ID].blob().size > DriveScanLimit {
				s.driveWarning(w, f)
				return
			}
			s.serveAttachment(w, r, "drive:"+f.ID, f.Name)
			return
		}
	case host == "drive.usercontent.google.com" && rest == "download":
		if find(q.Get("id")); f != nil && f.Refuse != "" {
			driveRefusal(w, f)
			return
		} else if f != nil {
			big := s.byKey["drive:"+f.ID].blob().size > DriveScanLimit
			if big && (q.Get("confirm") != "t" ||
				q.Get("uuid") != driveUUID(f)) {
				s.driveWarning(w, f)
				return
			}
			s.serveAttachment(w, r, "drive:"+f.ID, f.Name)
			return
		}
	}
	htmlPage(w, http.StatusNotFound, "Google Drive - Page Not Found",
		"<p>Sorry, the file you have requested does not exist.</p>")
}

func driveUUID(f *DriveFile) string {
	h := fakeSHA1("uuid " + f.ID)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// driveWarning answers the large-file confirmation page.
func (s *Sim) driveWarning(w http.ResponseWriter, f *DriveFile) {
	input := func(name, value string) string {
		return `<input type="hidden" name="` + name + `" value="` + html.EscapeString(value) + `">`
	}
	htmlPage(w, http.StatusOK, "Google Drive - Virus scan warning",
		`<p class="uc-warning-caption">Google Drive can't scan this file for viruses.</p>`+
			"<p>"+html.EscapeString(f.Name)+" is too large for Google to scan for viruses. "+
			"Would you still like to download this file?</p>"+
			`<form id="download-form" action="`+s.FilesURL+
			`/drive.usercontent.google.com/download" method="get">`+
			`<input type="submit" id="uc-download-link" value="Download anyway">`+
			input("id", f.ID)+input("export", "download")+input("confirm", "t")+
			input("uuid", driveUUID(f))+"</form>")
}

func (s *Sim) github(w http.ResponseWriter, r *http.Request, host, rest string) {
	parts := strings.SplitN(rest, "/", 5)
	find := func(repo, ref, p string) *GitHubFile {
		for _, f := range s.Catalog.GitHub {
			if f.Repo == repo && f.Ref == ref && f.Path == p {
				return f
			}
		}
		return nil
	}
	switch {
	case host == "github.com" && len(parts) == 5 && (parts[2] == "blob" || parts[2] == "raw"):
		f := find(parts[0]+"/"+parts[1], parts[3], parts[4])
		if f == nil {
			break
		}
		if parts[2] == "raw" {
			redirect(w, r, s.FilesURL+"/raw.githubusercontent.com/"+f.Repo+"/"+f.Ref+"/"+
				escapePath(f.Path), http.StatusFound)
			return
		}
		htmlPage(w, http.StatusOK, f.Path+" at "+f.Ref+" · "+f.Repo,
			"<p>"+html.EscapeString(f.Path)+"</p>")
		return
	case host == "raw.githubusercontent.com" && len(parts) >= 4:
		parts = strings.SplitN(rest, "/", 4)
		f := find(parts[0]+"/"+parts[1], parts[2], parts[3])
		if f == nil {
			break
		}
		if f.LFS {
			b := s.byKey["github:"+f.Repo+"/"+f.Ref+"/"+f.Path].blob()
			ptr := lfsPointer(b.sha256(), b.size)
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Write([]byte(ptr))
			return
		}
		s.serveAttachment(w, r, "github:"+f.Repo+"/"+f.Ref+"/"+f.Path, "")
		return
	case host == "media.githubusercontent.com" && len(parts) == 5 && parts[0] == "media":
		f := find(parts[1]+"/"+parts[2], parts[3], parts[4])
		if f == nil || !f.LFS {
			break
		}
		s.serveAttachment(w, r, "github:"+f.Repo+"/"+f.Ref+"/"+f.Path, "")
		return
	}
	http.Error(w, "404: Not Found", http.StatusNotFound)
}

func (s *Sim) dropbox(w http.ResponseWriter, r *http.Request, host, rest string) {
	q := r.URL.Query()
	id, name, _ := strings.Cut(strings.TrimPrefix(rest, "scl/fi/"), "/")
	var f *DropboxFile
	for _, d := range s.Catalog.Dropbox {
		if d.ID == id && d.Name == name && d.RLKey == q.Get("rlkey") {
			f = d
		}
	}
	switch {
	case f == nil:
		htmlPage(w, http.StatusNotFound, "Dropbox - 404", "<p>That didn't work for some reason</p>")
	case host == "www.dropbox.com" && q.Get("dl") != "1":
		htmlPage(w, http.StatusOK, f.Name+" - Dropbox", "<p>"+html.EscapeString(f.Name)+"</p>")
	case host == "www.dropbox.com":
		redirect(w, r, s.FilesURL+"/dl.dropboxusercontent.com/scl/fi/"+f.ID+"/"+
			url.PathEscape(f.Name)+"?rlkey="+url.QueryEscape(f.RLKey)+"&dl=1", http.StatusFound)
	default:
		s.serveAttachment(w, r, "dropbox:"+f.ID, f.Name)
	}
}

// serveAttachment serves the file registered under key, with
// Content-Disposition: attachment when name is set.
func (s *Sim) serveAttachment(w http.ResponseWriter, r *http.Request, key, name string) {
	s.serveBlob(w, r, s.byKey[key], func(h http.Header) {
		if name != "" {
			h.Set("Content-Disposition", `attachment; filename="`+name+`"; filename*=UTF-8''`+
				url.PathEscape(name))
		}
	})
}

func htmlPage(w http.ResponseWriter, status int, title, body string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write([]byte("<!DOCTYPE html><html><head><title>" + html.EscapeString(title) +
		"</title></head><body>" + body + "</body></html>\n"))
}
