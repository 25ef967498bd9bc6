package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"provision/resolver"
)

// defaultDirs returns the models folder, link folder and log file used
// when neither flag, environment nor manifest names them. In a container
// (a /workspace folder exists) the models persist under /workspace; only
// the Fooocus image has a known UI folder to link (/opt/fooocus/models,
// from the seed), the other layouts link nothing unless told where their
// UI looks. Outside a container: ./models, no links, no log file.
func defaultDirs(container bool, layout string) (models, link, logFile string) {
	if !container {
		return "models", "", ""
	}
	logFile = "/workspace/logs/provision.log"
	if layout == "fooocus" {
		return "/workspace/fooocus/models", "/opt/fooocus/models", logFile
	}
	return "/workspace/" + layout + "/models", "", logFile
}

// inContainer reports whether the process runs in the kind of container
// the seed describes: one with a /workspace volume.
func (env *environment) inContainer() bool {
	if env.container != nil {
		return env.container()
	}
	return dirExists("/workspace")
}

// boolSetting is a switch that is on when its flag is given, else when its
// environment variable says 1, true, yes or on.
func (env *environment) boolSetting(c *cli.Context, flag, envName string) bool {
	if c != nil && c.IsSet(flag) {
		return c.Bool(flag)
	}
	return isTrue(env.getenv(envName))
}

// folders merges the category -> folder table per category: the
// manifest's [settings.folders], then PROVISION_FOLDERS, then --folders,
// later ones winning. Categories may be written as any alias.
func (env *environment) folders(c *cli.Context, manifest map[string]string) (map[string]string,
	error) {
	out := map[string]string{}
	for k, v := range manifest {
		out[k] = v
	}
	layers := []struct{ name, text string }{
		{"PROVISION_FOLDERS", env.getenv("PROVISION_FOLDERS")},
	}
	if c != nil && c.IsSet(flagFolders) {
		layers = append(layers, struct{ name, text string }{"--" + flagFolders,
			c.String(flagFolders)})
	}
	for _, l := range layers {
		m, err := parseFolders(l.text)
		if err != nil {
			return nil, usageErr("%s: %v", l.name, err)
		}
		for k, v := range m {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// parseFolders reads "lora=my_loras,vae=VAE" (commas or spaces between
// pairs) into canonical category -> folder.
func parseFolders(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, pair := range strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == ';' || r == '\n'
	}) {
		k, v, ok := strings.Cut(pair, "=")
		if !ok || strings.TrimSpace(v) == "" {
			return nil, fmt.Errorf("%q is not category=folder (e.g. lora=my_loras)", pair)
		}
		cat, ok := resolver.CanonicalCategory(k)
		if !ok {
			var names []string
			for _, c := range resolver.Categories() {
				names = append(names, c.Name)
			}
			sort.Strings(names)
			return nil, fmt.Errorf("%q is not a category; valid categories are %s",
				k, strings.Join(names, ", "))
		}
		out[cat] = strings.TrimSpace(v)
	}
	return out, nil
}

// takes reports whether the command being run has the flag, so that an
// environment switch such as PROVISION_JSON only reaches commands that
// understand it (get has no JSON output). Without a command (tests) it
// says yes.
func takes(c *cli.Context, flag string) bool {
	if c == nil || c.Command == nil || len(c.Command.Flags) == 0 {
		return true
	}
	for _, f := range c.Command.Flags {
		for _, n := range f.Names() {
			if n == flag {
				return true
			}
		}
	}
	return false
}
