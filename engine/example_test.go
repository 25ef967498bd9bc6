package engine_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"provision/engine"
	"provision/internal/span"
)

// fileOutput writes into an *os.File; a real store syncs and journals in
// Commit.
type fileOutput struct{ f *os.File }

func (o fileOutput) WriteAt(b []byte, off int64) (int, error) { return o.f.WriteAt(b, off) }
func (o fileOutput) Commit(span.Range) error                  { return nil }

func Example() {
	body := strings.Repeat("weights ", 1000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "", time.Time{}, strings.NewReader(body))
	}))
	defer srv.Close()

	f, _ := os.CreateTemp("", "example-*.part")
	defer os.Remove(f.Name())
	defer f.Close()

	e := engine.New(engine.Config{Connections: 4})
	pr := &engine.Progress{}
	res, err := e.Fetch(context.Background(), &engine.Job{
		Name:     "lora/detail.safetensors",
		URL:      srv.URL + "/detail.safetensors",
		Size:     int64(len(body)),
		Out:      fileOutput{f},
		Progress: pr,
	})
	fmt.Println(res.Size, pr.Done(), err)
	// Output: 8000 8000 <nil>
}
