package sim

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// civitai plays civitai.com:
//
//	{CivitAIURL}/api/v1/model-versions/{versionId}
//	{CivitAIURL}/api/v1/models/{modelId}
//	{CivitAIURL}/api/download/models/{versionId}[?type=&format=&size=&fp=&fileId=&token=]
//	{CivitAIURL}/login?returnUrl=...&reason=download-auth   (HTML)
//
// A download answers 307 to {CDNURL}/storage/... (see signedURL), whose
// answer carries Content-Disposition: attachment; filename="<name>" with
// the name in raw UTF-8.
func (s *Sim) civitai(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/api/v1/model-versions/"):
		s.setKind(r, "civitai.version")
		v, ok := s.civitVersion(w, strings.TrimPrefix(p, "/api/v1/model-versions/"))
		if ok {
			body := s.versionJSON(v)
			body["modelId"] = v.model.ID
			body["model"] = map[string]any{"name": v.model.Name, "type": v.model.Type,
				"nsfw": false, "poi": false}
			jsonAnswer(w, http.StatusOK, body)
		}
	case strings.HasPrefix(p, "/api/v1/models/"):
		s.setKind(r, "civitai.model")
		s.civitModel(w, strings.TrimPrefix(p, "/api/v1/models/"))
	case strings.HasPrefix(p, "/api/download/models/"):
		s.setKind(r, "civitai.download")
		s.civitDownload(w, r, strings.TrimPrefix(p, "/api/download/models/"))
	case p == "/login":
		s.setKind(r, "civitai.login")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte("<!DOCTYPE html><html><head><title>Sign in | Civitai</title></head>" +
			"<body><h1>Sign in to Civitai</h1><p>You need to be logged in to download " +
			"this model.</p></body></html>\n"))
	default:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte("<!DOCTYPE html><html><body><h1>404 Page not found</h1></body></html>\n"))
	}
}

// civitVersion parses a version id and finds it, answering 400 or 404.
func (s *Sim) civitVersion(w http.ResponseWriter, idStr string) (*Version, bool) {
	id, err := strconv.Atoi(idStr)
	if err != nil {
		jsonAnswer(w, http.StatusBadRequest, map[string]any{
			"error": fmt.Sprintf("Invalid id: %q is not a number", idStr)})
		return nil, false
	}
	v := s.Catalog.Version(id)
	if v == nil {
		jsonAnswer(w, http.StatusNotFound, map[string]any{"error": "Model not found"})
		return nil, false
	}
	return v, true
}

// civitModel answers /api/v1/models/{id}.
func (s *Sim) civitModel(w http.ResponseWriter, idStr string) {
	id, err := strconv.Atoi(idStr)
	if err != nil {
		jsonAnswer(w, http.StatusBadRequest, map[string]any{
			"error": fmt.Sprintf("Invalid id: %q is not a number", idStr)})
		return
	}
	m := s.Catalog.Model(id)
	if m == nil {
		jsonAnswer(w, http.StatusNotFound, map[string]any{
			"error": "No model with id " + idStr})
		return
	}
	versions := []map[string]any{}
	for i, v := range m.Versions {
		vj := s.versionJSON(v)
		vj["index"] = i
		versions = append(versions, vj)
	}
	jsonAnswer(w, http.StatusOK, map[string]any{
		"id": m.ID, "name": m.Name, "description": "<p>Simulated model.</p>",
		"type": m.Type, "nsfw": false, "poi": false, "tags": []string{},
		"creator": map[string]any{"username": "sim-creator"}, "modelVersions": versions,
	})
}

// versionJSON renders a version as the API does, without the model fields.
func (s *Sim) versionJSON(v *Version) map[string]any {
	files := []map[string]any{}
	for _, f := range v.Files {
		b := s.civF[f].blob()
		sha := strings.ToUpper(b.sha256())
		meta := map[string]any{"format": orDefault(f.Format, "SafeTensor")}
		if f.FP != "" {
			meta["fp"] = f.FP
		}
		if f.SizeTag != "" {
			meta["size"] = f.SizeTag
		}
		files = append(files, map[string]any{
			"id": f.ID, "name": f.Name, "type": orDefault(f.Type, "Model"),
			"sizeKB": float64(b.size) / 1024, "primary": f.Primary, "metadata": meta,
			"pickleScanResult": "Success", "virusScanResult": "Success",
			"hashes":      map[string]any{"AutoV2": sha[:10], "SHA256": sha},
			"downloadUrl": s.CivitAIURL + "/api/download/models/" + strconv.Itoa(v.ID) + fileQuery(f),
		})
	}
	out := map[string]any{
		"id": v.ID, "name": v.Name, "baseModel": v.BaseModel, "baseModelType": "Standard",
		"createdAt": "2024-08-01T12:00:00.000Z", "publishedAt": "2024-08-01T12:00:00.000Z",
		"status": "Published", "availability": "Public", "trainedWords": []string{},
		"files": files, "images": []any{},
		"downloadUrl": s.CivitAIURL + "/api/download/models/" + strconv.Itoa(v.ID),
	}
	if !v.EarlyAccessUntil.IsZero() {
		out["availability"] = "EarlyAccess"
		out["earlyAccessEndsAt"] = v.EarlyAccessUntil.UTC().Format(time.RFC3339)
	}
	return out
}

// fileQuery is the query of a file's downloadUrl: the primary file's is
// type and format only; the others add size and fp when known.
func fileQuery(f *CivitFile) string {
	q := "?type=" + url.QueryEscape(orDefault(f.Type, "Model")) +
		"&format=" + url.QueryEscape(orDefault(f.Format, "SafeTensor"))
	if f.Primary {
		return q
	}
	if f.SizeTag != "" {
		q += "&size=" + url.QueryEscape(f.SizeTag)
	}
	if f.FP != "" {
		q += "&fp=" + url.QueryEscape(f.FP)
	}
	return q
}

// civitDownload answers /api/download/models/{versionId}.
func (s *Sim) civitDownload(w http.ResponseWriter, r *http.Request, idStr string) {
	v, ok := s.civitVersion(w, idStr)
	if !ok {
		return
	}
	q := r.URL.Query()
	token, _ := bearer(r)
	if t := q.Get("token"); t != "" {
		token = t
	}
	authed := token != "" && slices.Contains(s.Catalog.CivitAITokens, token)
	switch {
	case v.Archived:
		jsonAnswer(w, http.StatusGone, map[string]any{"error": "Model archived",
			"message": "This model has been archived and is no longer available for download."})
		return
	case v.DownloadsDisabled:
		jsonAnswer(w, http.StatusUnauthorized, map[string]any{"error": "Unauthorized",
			"message": "The creator of this asset has disabled downloads on this file"})
		return
	case v.LoginRequired && !authed:
		if strings.Contains(r.UserAgent(), "Mozilla") {
			loc := "/login?returnUrl=" + url.QueryEscape(r.URL.Path) + "&reason=download-auth"
			redirect(w, r, loc, http.StatusTemporaryRedirect)
			return
		}
		jsonAnswer(w, http.StatusUnauthorized, map[string]any{"error": "Unauthorized",
			"message": "The creator of this asset requires you to be logged in to download it"})
		return
	case s.now().Before(v.EarlyAccessUntil):
		jsonAnswer(w, http.StatusForbidden, map[string]any{"error": "Early Access",
			"message":  "This asset is in Early Access. You can use Buzz to access it early.",
			"deadline": v.EarlyAccessUntil.UTC().Format(time.RFC3339)})
		return
	}
	f := pickFile(v, q)
	if f == nil {
		jsonAnswer(w, http.StatusNotFound, map[string]any{"error": "File not found"})
		return
	}
	w.Header().Set("Location", s.signedURL("storage", s.civF[f]))
	w.WriteHeader(http.StatusTemporaryRedirect)
}

// pickFile selects the file a download query names: fileId; else the
// first file matching every given type/format/size/fp (primary first);
// else the primary file (or the first).
func pickFile(v *Version, q url.Values) *CivitFile {
	if id := q.Get("fileId"); id != "" {
		n, err := strconv.Atoi(id)
		if err != nil {
			return nil
		}
		return v.File(n)
	}
	match := func(f *CivitFile) bool {
		eq := func(key, val string) bool {
			want := q.Get(key)
			return want == "" || strings.EqualFold(want, val)
		}
		return eq("type", orDefault(f.Type, "Model")) &&
			eq("format", orDefault(f.Format, "SafeTensor")) &&
			eq("size", f.SizeTag) && eq("fp", f.FP)
	}
	files := slices.Clone(v.Files)
	slices.SortStableFunc(files, func(a, b *CivitFile) int {
		switch {
		case a.Primary == b.Primary:
			return 0
		case a.Primary:
			return -1
		}
		return 1
	})
	for _, f := range files {
		if match(f) {
			return f
		}
	}
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
