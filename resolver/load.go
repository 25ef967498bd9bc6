package resolver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strings"
	"time"

	"provision/internal/netx"
)

// MaxManifestSize is the largest manifest LoadManifest reads, in bytes. A
// real manifest is a few kilobytes; anything near this size is the wrong
// file.
const MaxManifestSize = 1 << 20

// LoadManifest reads the manifest at src and parses it with ParseManifest.
//
// src is a local path (or a file:// URL), or an http(s) URL. A URL is first
// passed through RewriteLink (with HF_ENDPOINT from getenv as the extra
// HuggingFace host), so GitHub, Google Drive, Dropbox and HuggingFace page
// links work as pasted, then fetched with one GET through client (nil
// means a client that follows redirects but drops credentials when they
// leave the first host, and gives up after a minute). The manifest's Origin is src, redacted.
//
// Bodies over MaxManifestSize, non-200 answers and HTML pages are refused
// with a message saying so. getenv nil means os.Getenv.
func LoadManifest(ctx context.Context, client *http.Client, src string,
	getenv func(string) string) (*Manifest, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	src = strings.TrimSpace(src)
	lower := strings.ToLower(src)
	switch {
	case src == "":
		return nil, errors.New("load manifest: no path or URL given")
	case strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://"):
		data, err := fetchManifest(ctx, client, src, getenv("HF_ENDPOINT"))
		if err != nil {
			return nil, err
		}
		return ParseManifest(netx.Redact(src), data, getenv)
	case strings.HasPrefix(lower, "file://"):
		src = src[len("file://"):]
	case strings.Contains(src, "://"):
		return nil, fmt.Errorf("load manifest %s: only local paths and http(s) URLs are "+
			"supported", netx.Redact(src))
	}

	data, err := readManifestFile(src)
	if err != nil {
		return nil, err
	}
	return ParseManifest(src, data, getenv)
}

// readManifestFile reads a local manifest, refusing folders and huge files.
func readManifestFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("load manifest: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("load manifest %s: is a folder; give the .toml file", name)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxManifestSize+1))
	if err != nil {
		return nil, fmt.Errorf("load manifest: %w", err)
	}
	if len(data) > MaxManifestSize {
		return nil, fmt.Errorf("load manifest %s: larger than %d KiB; is this the "+
			"manifest?", name, MaxManifestSize>>10)
	}
	return data, nil
}

// manifestTimeout bounds fetching a manifest with the default client: a
// server that never answers must not hang a container's start.
const manifestTimeout = time.Minute

// fetchManifest GETs a manifest URL and returns its body.
func fetchManifest(ctx context.Context, client *http.Client, src, hfEndpoint string) (
	[]byte, error) {
	shown := netx.Redact(src)
	if client == nil {
		client = &http.Client{CheckRedirect: netx.CheckRedirect, Timeout: manifestTimeout}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, RewriteLink(src, hfEndpoint),
		nil)
	if err != nil {
		return nil, fmt.Errorf("fetch manifest %s: %w", shown, netx.RedactError(err))
	}
	req.Header.Set("Accept", "application/toml, text/plain;q=0.9, */*;q=0.5")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch manifest %s: %w", shown, netx.RedactError(err))
	}
	defer resp.Body.Close()

	if resp.StatusCode != http.StatusOK {
		hint := ""
		switch resp.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			hint = "; the link needs a login: use a public or raw link"
		case http.StatusNotFound:
			hint = "; check the link"
		}
		return nil, fmt.Errorf("fetch manifest %s: HTTP %s%s", shown, resp.Status, hint)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxManifestSize+1))
	if err != nil {
		return nil, fmt.Errorf("fetch manifest %s: %w", shown, netx.RedactError(err))
	}
	if len(data) > MaxManifestSize {
		return nil, fmt.Errorf("fetch manifest %s: larger than %d KiB; is this the "+
			"manifest's raw link?", shown, MaxManifestSize>>10)
	}
	switch ct := resp.Header.Get("Content-Type"); {
	case isHTML(ct, data):
		return nil, fmt.Errorf("fetch manifest %s: the server sent a web page, not TOML; "+
			"use the file's raw or download link", shown)
	case bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("{")):
		// TOML never starts with '{': this is an API's JSON error.
		return nil, fmt.Errorf("fetch manifest %s: the server sent JSON, not TOML: %.80q",
			shown, bytes.TrimSpace(data))
	}
	return data, nil
}

// isHTML reports whether a body is a web page: by its declared type, or by
// its first character, since TOML never starts with '<'.
func isHTML(contentType string, data []byte) bool {
	if mt, _, err := mime.ParseMediaType(contentType); err == nil &&
		(mt == "text/html" || mt == "application/xhtml+xml") {
		return true
	}
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), " \t\r\n")
	return bytes.HasPrefix(trimmed, []byte("<"))
}
