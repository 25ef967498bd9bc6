package resolver

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// TestUnsetVarFailsOnlyItsEntry: a header using an unset variable leaves the
// manifest valid; resolving that entry fails with a message naming the
// entry, the field and the variable, before any request, while the entry
// next to it resolves.
func TestUnsetVarFailsOnlyItsEntry(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Length", "4")
		w.Header().Set("Content-Type", "application/octet-stream")
		if r.Method == http.MethodGet {
			w.Write([]byte("data"))
		}
	}))
	defer srv.Close()
	src := `
[models.lora]
private = { url = "` + srv.URL + `/p.safetensors", optional = true, headers = { ` +
		`Authorization = "Bearer ${MY_TOKEN}", X-Key = "${MY_TOKEN}" } }
public = { url = "` + srv.URL + `/q.safetensors", headers = { X-Set = "${SET}" } }
`
	m, err := ParseManifest("t.toml", []byte(src), env("SET", "s3cret-value"))
	if err != nil {
		t.Fatalf("ParseManifest: %v", err)
	}
	r := New(Config{Retries: -1})
	priv, pub := m.Entries[0], m.Entries[1]

	want := "models.lora.private: field headers.Authorization uses ${MY_TOKEN}, but " +
		"environment variable MY_TOKEN is not set; export MY_TOKEN before running " +
		"provision (an empty value counts as unset)"
	perr := r.Preflight(priv)
	_, rerr := r.Resolve(context.Background(), priv)
	for _, err := range []error{perr, rerr} {
		var ee *EntryError
		if !errors.As(err, &ee) || !errors.Is(err, ErrEnvUnset) || err.Error() != want {
			t.Fatalf("err = %v\nwant  %s", err, want)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("%d requests for an entry that cannot be sent", n)
	}

	if err := r.Preflight(pub); err != nil {
		t.Fatalf("Preflight(public) = %v", err)
	}
	ts, err := r.Resolve(context.Background(), pub)
	if err != nil || len(ts) != 1 || ts[0].Size != 4 {
		t.Fatalf("Resolve(public) = %v, %v", ts, err)
	}
}

// TestUnsetVarMessages: several variables in one field are all named; a
// bare string entry records its URL's variables the same way; a malformed
// reference stays a mistake of the manifest.
func TestUnsetVarMessages(t *testing.T) {
	m, err := ParseManifest("t.toml", []byte(`
[models.vae]
a = { url = "https://${HOST}/${DIR}/v.safetensors" }
b = "https://h/${DIR}/b.safetensors?x=${DIR}"
`), env())
	if err != nil {
		t.Fatalf("ParseManifest: %v", err)
	}
	r := New(Config{})
	for i, want := range []string{
		"models.vae.a: field url uses ${HOST} and ${DIR}, but environment variables HOST " +
			"and DIR are not set; export HOST and DIR before running provision (an empty " +
			"value counts as unset)",
		"models.vae.b: field url uses ${DIR}, but environment variable DIR is not set; " +
			"export DIR before running provision (an empty value counts as unset)",
	} {
		if err := r.Preflight(m.Entries[i]); err == nil || err.Error() != want {
			t.Errorf("entry %d: %v\nwant %s", i, err, want)
		}
	}

	e, err := ParseRef("get", "vae", "https://h/${DIR}/x.safetensors", env())
	if err != nil || e.Unset == nil || e.Unset.Field != "url" || e.Unset.Names[0] != "DIR" {
		t.Fatalf("ParseRef = %+v, %v", e, err)
	}

	got := problemsOf(t, `
[models.vae]
c = { url = "https://h/${DIR", headers = { A = "${UNSET}" } }
`, env())
	want := []string{`models.vae.c: field url: a "${" is not closed; write ${NAME} to use ` +
		`environment variable NAME`}
	if len(got) != 1 || got[0] != want[0] {
		t.Fatalf("problems %q, want %q", got, want)
	}
}
