package netx

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestRedact(t *testing.T) {
	cases := map[string]string{
		"https://cdn.example/x.bin?X-Amz-Signature=abc&token=t": "https://cdn.example/x.bin?…",
		"https://user:pw@h/p": "https://h/p",
		"http://h/p#frag":     "http://h/p",
		"http://h/p":          "http://h/p",
	}
	for in, want := range cases {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
	err := RedactError(&url.Error{Op: "Get", URL: "http://h/f?token=secret", Err: errors.New("boom")})
	if strings.Contains(err.Error(), "secret") {
		t.Fatalf("error still carries the secret: %v", err)
	}
}

func TestScopedHeadersStayOnTheirHost(t *testing.T) {
	var got http.Header
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
	}))
	defer other.Close()
	first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/file", http.StatusFound)
	}))
	defer first.Close()

	c := &http.Client{CheckRedirect: CheckRedirect}
	host := strings.TrimPrefix(first.URL, "http://")
	ctx := Scoped(context.Background(), host, []string{"X-Api-Key"})
	req, _ := http.NewRequestWithContext(ctx, "GET", first.URL+"/start", nil)
	req.Header.Set("X-Api-Key", "k")
	req.Header.Set("Authorization", "Bearer t")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got.Get("X-Api-Key") != "" || got.Get("Authorization") != "" {
		t.Fatalf("scoped headers crossed hosts: %v", got)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"1", time.Second, true},
		{" 30 ", 30 * time.Second, true},
		{now.Add(5 * time.Second).Format(http.TimeFormat), 5 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"", 0, false},
		{"soon", 0, false},
		{"-3", 0, false},
	}
	for _, c := range cases {
		got, ok := RetryAfter(c.in, now)
		if got != c.want || ok != c.ok {
			t.Errorf("RetryAfter(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}
