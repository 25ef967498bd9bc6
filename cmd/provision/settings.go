package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"provision/resolver"
)

// config is everything a provisioning run needs, after flags, environment,
// manifest and defaults have been merged (in that order of precedence).
type config struct {
	ModelsDir   string
	LinkDir     string
	Layout      string
	Folders     map[string]string
	Connections int
	MaxRate     float64 // bytes per second; 0 = unlimited
	LogFile     string
	Quiet       bool
	Verbose     bool
	JSON        bool // one JSON event per line on stdout instead of bars and tables
	DryRun      bool

	// LaunchAnyway execs the command after "--" even when required
	// entries failed.
	LaunchAnyway bool

	HFToken         string
	CivitAIToken    string
	HFEndpoint      string
	CivitAIEndpoint string
}

// defaultConnections was chosen by measurement against the simulated CDN:
// per-connection caps make more connections pay off up to about 16.
const defaultConnections = 16

// setting returns the value of a string setting by precedence:
// flag > environment variable > manifest > default.
func (env *environment) setting(c *cli.Context, flag, envName, manifest, def string) string {
	if c != nil && c.IsSet(flag) {
		return c.String(flag)
	}
	if v := strings.TrimSpace(env.getenv(envName)); v != "" {
		return v
	}
	if manifest != "" {
		return manifest
	}
	return def
}

// settingFrom is setting plus where the value came from, for messages:
// `--layout "comfi"`, `PROVISION_LAYOUT="comfi"`, `[settings] layout = "comfi"`,
// or `"comfi"` for a default.
func (env *environment) settingFrom(c *cli.Context, flag, envName, key, manifest,
	def string) (value, quoted string) {
	if c != nil && c.IsSet(flag) {
		v := c.String(flag)
		return v, fmt.Sprintf("--%s %q", flag, v)
	}
	if v := strings.TrimSpace(env.getenv(envName)); v != "" {
		return v, fmt.Sprintf("%s=%q", envName, v)
	}
	if manifest != "" {
		return manifest, fmt.Sprintf("[settings] %s = %q", key, manifest)
	}
	return def, fmt.Sprintf("%q", def)
}

// switchVars are the environment switches; a value that is neither on nor
// off is an error naming the variable, not a silent "off".
var switchVars = []string{"PROVISION_QUIET", "PROVISION_VERBOSE", "PROVISION_JSON",
	"PROVISION_LAUNCH_ANYWAY", "DRY_RUN"}

// checkSwitches rejects a switch variable set to something unknown.
func (env *environment) checkSwitches() error {
	for _, name := range switchVars {
		v := strings.ToLower(strings.TrimSpace(env.getenv(name)))
		switch v {
		case "", "1", "true", "yes", "on", "0", "false", "no", "off":
			continue
		}
		return usageErr("%s=%q is not a switch; use 1, true, yes or on (or 0, false, no, off)",
			name, env.getenv(name))
	}
	return nil
}

// loadConfig merges the command line, the environment and the manifest's
// [settings] table. s may be nil (provision get has no manifest).
func (env *environment) loadConfig(c *cli.Context, s *resolver.Settings) (*config, error) {
	if s == nil {
		s = &resolver.Settings{}
	}
	if err := env.checkSwitches(); err != nil {
		return nil, err
	}
	layoutName, from := env.settingFrom(c, flagLayout, "PROVISION_LAYOUT", "layout", s.Layout,
		"fooocus")
	layout, ok := resolver.CanonicalLayout(layoutName)
	if !ok {
		return nil, usageErr("%s is not one of %s", from, strings.Join(resolver.Layouts(), ", "))
	}
	defModels, defLink, defLog := defaultDirs(env.inContainer(), layout)
	cfg := &config{
		ModelsDir: env.setting(c, flagModelsDir, "PROVISION_MODELS_DIR", s.ModelsDir, defModels),
		LinkDir:   env.setting(c, flagLinkDir, "PROVISION_LINK_DIR", s.LinkDir, defLink),
		Layout:    layout,
		Quiet:     env.boolSetting(c, flagQuiet, "PROVISION_QUIET"),
		Verbose:   env.boolSetting(c, flagVerbose, "PROVISION_VERBOSE"),
		JSON:      takes(c, flagJSON) && env.boolSetting(c, flagJSON, "PROVISION_JSON"),
		DryRun:    isTrue(env.getenv("DRY_RUN")),

		LaunchAnyway: env.boolSetting(c, flagLaunchAnyway, "PROVISION_LAUNCH_ANYWAY"),

		HFToken:         firstNonEmpty(env.getenv("HF_TOKEN"), env.getenv("HUGGING_FACE_HUB_TOKEN")),
		CivitAIToken:    strings.TrimSpace(env.getenv("CIVITAI_TOKEN")),
		HFEndpoint:      strings.TrimRight(strings.TrimSpace(env.getenv("HF_ENDPOINT")), "/"),
		CivitAIEndpoint: strings.TrimRight(strings.TrimSpace(env.getenv("CIVITAI_ENDPOINT")), "/"),
	}
	folders, err := env.folders(c, s.Folders)
	if err != nil {
		return nil, err
	}
	cfg.Folders = folders
	cfg.LogFile = env.setting(c, flagLogFile, "PROVISION_LOG_FILE", "", defLog)

	conns, from := env.settingFrom(c, flagConnections, "PROVISION_CONNECTIONS", "connections",
		itoa(s.Connections), strconv.Itoa(defaultConnections))
	n, err := strconv.Atoi(strings.TrimSpace(conns))
	if err != nil || n < 1 || n > 256 {
		return nil, usageErr("%s is not a number from 1 to 256", from)
	}
	cfg.Connections = n

	rate, from := env.settingFrom(c, flagMaxRate, "PROVISION_MAX_RATE", "max_rate", s.MaxRate,
		"0")
	if cfg.MaxRate, err = resolver.ParseRate(rate); err != nil {
		return nil, usageErr("%s: %v", from, err)
	}

	if cfg.ModelsDir, err = filepath.Abs(cfg.ModelsDir); err != nil {
		return nil, usageErr("models-dir: %v", err)
	}
	if cfg.LinkDir != "" {
		if cfg.LinkDir, err = filepath.Abs(cfg.LinkDir); err != nil {
			return nil, usageErr("link-dir: %v", err)
		}
	}
	return cfg, nil
}

// configSource picks the manifest: the argument, else PROVISION_URL, else
// ./provision.toml. The command after "--" was split off before parsing
// (see splitCommand), so every argument here is a CONFIG candidate.
func (env *environment) configSource(c *cli.Context) (string, error) {
	args := c.Args().Slice()
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) > 1 {
		return "", usageErr("one CONFIG at most, got %q (put the command to launch after --)",
			args)
	}
	if len(args) == 1 && args[0] != "" {
		return args[0], nil
	}
	if src := strings.TrimSpace(env.getenv("PROVISION_URL")); src != "" {
		return src, nil
	}
	if _, err := os.Stat("provision.toml"); err != nil {
		return "", usageErr("no manifest: give CONFIG (a path or URL), set PROVISION_URL, " +
			"or create ./provision.toml")
	}
	return "provision.toml", nil
}

func itoa(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func isTrue(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

func dirExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// describe renders a config for the log, without secrets.
func (cfg *config) describe() string {
	tok := func(t string) string {
		if t == "" {
			return "unset"
		}
		return "set"
	}
	return fmt.Sprintf("models_dir=%s link_dir=%s layout=%s connections=%d max_rate=%s "+
		"hf_token=%s civitai_token=%s", cfg.ModelsDir, orNone(cfg.LinkDir), cfg.Layout,
		cfg.Connections, rateString(cfg.MaxRate), tok(cfg.HFToken), tok(cfg.CivitAIToken))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
