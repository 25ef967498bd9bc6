package sim_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"

	"provision/bench/sim"
)

// A gated file fetched the way a client must: the token goes to the hub,
// the redirect to the signed CDN URL is followed without it.
func Example() {
	s, err := sim.Start(sim.Config{})
	if err != nil {
		panic(err)
	}
	defer s.Close()

	f := s.Catalog.Repo("black-forest-labs/FLUX.1-dev").File("ae.safetensors")
	req, _ := http.NewRequest("GET", s.HubURL+"/black-forest-labs/FLUX.1-dev/resolve/main/"+
		f.Path, nil)
	req.Header.Set("Authorization", "Bearer "+sim.DemoHFToken)
	resp, err := http.DefaultClient.Do(req) // Go drops Authorization on the CDN hop
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	h := sha256.New()
	n, _ := io.Copy(h, resp.Body)

	st := s.Stats()
	fmt.Println(resp.StatusCode, n == f.Size, hex.EncodeToString(h.Sum(nil)) == f.SHA256())
	fmt.Println(st.Requests["hub.resolve"], st.Requests["cdn"], len(st.Seen("cdn", "Authorization")))
	// Output:
	// 200 true true
	// 1 1 0
}
