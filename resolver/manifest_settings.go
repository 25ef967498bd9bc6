package resolver

import (
	"fmt"
	"math"
	"path"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"provision/internal/fname"
)

// settingKeys are the keys [settings] accepts, in documented order.
var settingKeys = []string{"models_dir", "link_dir", "layout", "connections", "max_rate",
	"folders"}

// maxConnections bounds settings.connections: more than this only adds
// load on the servers.
const maxConnections = 256

// settings reads and checks the [settings] table.
func (p *parser) settings(v any) Settings {
	var s Settings
	tbl, ok := v.(map[string]any)
	if !ok {
		p.ps.add("settings", "", "must be a table: [settings]")
		return s
	}
	str := func(k string) string {
		x, ok := tbl[k].(string)
		if !ok {
			p.ps.add("settings", k, "want a string in quotes, got %s", typeName(tbl[k]))
		}
		return strings.TrimSpace(x)
	}
	for _, k := range p.keys(toml.Key{"settings"}, tbl) {
		switch k {
		case "models_dir":
			s.ModelsDir = str(k)
		case "link_dir":
			s.LinkDir = str(k)
		case "layout":
			l := str(k)
			if canon, ok := CanonicalLayout(l); ok {
				s.Layout = canon
			} else if _, isStr := tbl[k].(string); isStr {
				p.ps.add("settings", k, "unknown layout %q; valid: %s", l,
					strings.Join(Layouts(), ", "))
			}
		case "connections":
			n, ok := tbl[k].(int64)
			switch {
			case !ok:
				p.ps.add("settings", k, "want a whole number like 16 (no quotes), got %s",
					typeName(tbl[k]))
			case n < 1 || n > maxConnections:
				p.ps.add("settings", k, "%d is out of range; valid: 1 to %d", n, maxConnections)
			default:
				s.Connections = int(n)
			}
		case "max_rate":
			s.MaxRate = p.maxRate(tbl[k])
		case "folders":
			s.Folders = p.folders(tbl[k])
		default:
			p.ps.add("settings", k, "unknown setting%s; valid settings: %s",
				meant(k, settingKeys), strings.Join(settingKeys, ", "))
		}
	}
	return s
}

// maxRate reads settings.max_rate: a rate string, or a number of bytes per
// second. It returns the text the command line passes to ParseRate.
func (p *parser) maxRate(v any) string {
	var s string
	switch v := v.(type) {
	case string:
		s = strings.TrimSpace(v)
	case int64:
		s = strconv.FormatInt(v, 10)
	default:
		p.ps.add("settings", "max_rate", "want a rate like \"200MB/s\", got %s", typeName(v))
		return ""
	}
	if _, err := ParseRate(s); err != nil {
		p.ps.add("settings", "max_rate", "%q is not a rate; write e.g. \"200MB/s\", "+
			"\"50M\" (MiB/s), \"800Mbit/s\" or \"0\" for unlimited", s)
		return ""
	}
	return s
}

// folders reads [settings.folders]: category (any alias) -> folder name
// relative to models_dir.
func (p *parser) folders(v any) map[string]string {
	tbl, ok := v.(map[string]any)
	if !ok {
		p.ps.add("settings", "folders", "want a table like [settings.folders] lora = \"Lora\", "+
			"got %s", typeName(v))
		return nil
	}
	out := make(map[string]string, len(tbl))
	for _, k := range p.keys(toml.Key{"settings", "folders"}, tbl) {
		field := "folders." + toml.Key{k}.String()
		canon, ok := CanonicalCategory(k)
		if !ok {
			p.ps.add("settings", field, "unknown category%s; valid categories: %s",
				meant(normName(k), allCategorySpellings()), strings.Join(categoryNames(), ", "))
			continue
		}
		dir, ok := tbl[k].(string)
		if !ok {
			p.ps.add("settings", field, "want a folder name in quotes, got %s", typeName(tbl[k]))
			continue
		}
		dir = strings.Trim(strings.TrimSpace(dir), "/")
		if dir == "" || fname.Rel(dir) != dir || path.Clean(dir) != dir {
			p.ps.add("settings", field, "%q is not a folder inside models_dir; write a "+
				"relative name like \"Lora\" or \"models/Lora\"", tbl[k])
			continue
		}
		if prev, dup := out[canon]; dup {
			p.ps.add("settings", field, "category %s already has folder %q", canon, prev)
			continue
		}
		out[canon] = dir
	}
	return out
}

// rateUnits maps unit spellings (lower case, without "/s") to bytes. A lone
// letter is binary, as in curl and wget ("50M" is 50 MiB/s); "MB" is
// decimal, "MiB" binary; bit units are decimal and divided by 8.
var rateUnits = map[string]float64{
	"": 1, "b": 1,
	"k": 1 << 10, "kb": 1e3, "kib": 1 << 10,
	"m": 1 << 20, "mb": 1e6, "mib": 1 << 20,
	"g": 1 << 30, "gb": 1e9, "gib": 1 << 30,
	"t": 1 << 40, "tb": 1e12, "tib": 1 << 40,
	"bit": 1.0 / 8, "kbit": 1e3 / 8, "mbit": 1e6 / 8, "gbit": 1e9 / 8,
}

// ParseRate parses a transfer rate and returns it in bytes per second; 0
// means unlimited. Accepted: a plain number of bytes ("1048576"), a number
// with a unit and an optional "/s" ("200MB/s", "1.5GiB/s", "50M",
// "800Mbit/s", "100Mbps"), and "", "0", "unlimited", "none" or "off" for no
// limit. A lone letter is binary ("50M" = 50 MiB/s, as curl and wget read
// it); "MB" is decimal and "MiB" binary; "bps" and "bit" units are bits.
func ParseRate(s string) (float64, error) {
	t := strings.TrimSpace(s)
	switch strings.ToLower(t) {
	case "", "0", "unlimited", "none", "off":
		return 0, nil
	}
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, err := strconv.ParseFloat(t[:i], 64)
	if err != nil || i == 0 {
		return 0, fmt.Errorf("parse rate %q: want a number with an optional unit, "+
			"like \"200MB/s\"", s)
	}

	written := strings.TrimSpace(t[i:])
	unit := written
	switch {
	case strings.HasSuffix(unit, "bps"): // Mbps: bits
		unit = strings.TrimSuffix(unit, "bps") + "bit"
	case strings.HasSuffix(unit, "Bps"): // MBps: bytes
		unit = strings.TrimSuffix(unit, "ps")
	default:
		unit = strings.TrimSuffix(strings.TrimSuffix(unit, "/s"), "/S")
	}
	unit = strings.ToLower(unit)
	if strings.HasSuffix(unit, "bits") {
		unit = strings.TrimSuffix(unit, "s")
	}
	mult, ok := rateUnits[unit]
	if !ok {
		return 0, fmt.Errorf("parse rate %q: unknown unit %q; use B, K, M, G, KB, MB, GB, "+
			"KiB, MiB, GiB, or Mbit", s, written)
	}
	r := num * mult
	if math.IsInf(r, 0) || math.IsNaN(r) {
		return 0, fmt.Errorf("parse rate %q: out of range", s)
	}
	return r, nil
}
