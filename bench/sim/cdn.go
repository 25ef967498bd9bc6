package sim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// signedURL returns an absolute URL on the CDN host for fs, valid for the
// file's URL lifetime from now:
//
//	{CDNURL}/{lfs|storage}/{file id}/{name}?Expires=<unix s>&Signature=<hex>&Key-Pair-Id=SIM
//
// "lfs" answers as the HF CDN, "storage" as CivitAI's signed storage (with
// Content-Disposition: attachment).
func (s *Sim) signedURL(kind string, fs *fileState) string {
	p := "/" + kind + "/" + strconv.Itoa(fs.id) + "/" + url.PathEscape(fs.name)
	exp := strconv.FormatInt(s.now().Add(s.lifetime(fs)).Unix(), 10)
	return s.CDNURL + p + "?Expires=" + exp + "&Signature=" + s.sign(p, exp) +
		"&Key-Pair-Id=SIMKEY"
}

func (s *Sim) sign(p, exp string) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(p + "\n" + exp))
	return hex.EncodeToString(m.Sum(nil))[:40]
}

// cdn serves signed URLs made by signedURL. It refuses requests that carry
// an Authorization header (400, as S3 does), a bad signature (403 XML
// AccessDenied) and an expired URL (403 XML AccessDenied, "Request has
// expired").
func (s *Sim) cdn(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	kind := "cdn"
	if segs[0] == "storage" {
		kind = "storage"
	}
	s.setKind(r, kind)
	if len(segs) != 3 || (segs[0] != "lfs" && segs[0] != "storage") {
		xmlError(w, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
		return
	}
	if r.Header.Get("Authorization") != "" {
		xmlError(w, http.StatusBadRequest, "InvalidArgument", "Only one auth mechanism "+
			"allowed; only the X-Amz-Algorithm query parameter, Signature query string "+
			"parameter or the Authorization header should be specified")
		return
	}
	q := r.URL.Query()
	exp := q.Get("Expires")
	p := "/" + segs[0] + "/" + segs[1] + "/" + url.PathEscape(segs[2])
	if !hmac.Equal([]byte(q.Get("Signature")), []byte(s.sign(p, exp))) {
		xmlError(w, http.StatusForbidden, "AccessDenied", "Invalid signature")
		return
	}
	expUnix, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || s.now().Unix() >= expUnix {
		xmlError(w, http.StatusForbidden, "AccessDenied", "Request has expired")
		return
	}
	id, err := strconv.Atoi(segs[1])
	if err != nil || id < 0 || id >= len(s.files) {
		xmlError(w, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
		return
	}
	fs := s.files[id]
	var header func(http.Header)
	if kind == "storage" && fs.disp != "" {
		header = func(h http.Header) { h.Set("Content-Disposition", fs.disp) }
	}
	s.serveBlob(w, r, fs, header)
}
