package main

import (
	"os"
	"strings"
	"testing"

	"provision/resolver"
	"provision/store"
)

// The README's category table is the manifest reference users read: it
// must list every category with exactly the aliases the resolver accepts
// and the folder each layout uses.
func TestReadmeCategoryTable(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(string(b), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) != 8 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		for i := range cells {
			cells[i] = strings.Trim(strings.TrimSpace(cells[i]), "`")
		}
		rows[cells[1]] = cells[2:7]
	}
	layouts := []string{"fooocus", "comfyui", "a1111"}
	for _, c := range resolver.Categories() {
		row, ok := rows[c.Name]
		if !ok {
			t.Errorf("README has no row for category %s", c.Name)
			continue
		}
		if got, want := row[0], strings.Join(c.Aliases, ", "); got != want {
			t.Errorf("README aliases of %s: %q, want %q", c.Name, got, want)
		}
		for i, l := range layouts {
			f, err := store.Folders(l)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := row[2+i], f[c.Name]+"/"; got != want {
				t.Errorf("README %s folder of %s: %q, want %q", l, c.Name, got, want)
			}
		}
		delete(rows, c.Name)
	}
	for name := range rows {
		t.Errorf("README lists %s, which is not a category", name)
	}
}

// Every flag of run is documented in the README's settings table or the
// command list.
func TestReadmeFlags(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range runFlags() {
		name := f.Names()[0]
		if !strings.Contains(string(b), "`--"+name) {
			t.Errorf("README does not document --%s", name)
		}
	}
}
