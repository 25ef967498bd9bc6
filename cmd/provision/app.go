package main

import (
	"io"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// Flag names shared by run, get, demo and plan.
const (
	flagModelsDir   = "models-dir"
	flagLinkDir     = "link-dir"
	flagLayout      = "layout"
	flagConnections = "connections"
	flagMaxRate     = "max-rate"
	flagLogFile     = "log-file"
	flagJSON        = "json"
	flagQuiet       = "quiet"
	flagVerbose     = "verbose"
	flagFolders     = "folders"

	flagLaunchAnyway = "launch-anyway"
)

func transferFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: flagModelsDir, Usage: "folder the models are written to " +
			"(env PROVISION_MODELS_DIR; default in a container /workspace/LAYOUT/models, " +
			"e.g. /workspace/fooocus/models; else ./models)"},
		&cli.StringFlag{Name: flagLinkDir, Usage: "folder the UI reads, linked to the models folder " +
			"(env PROVISION_LINK_DIR; default /opt/fooocus/models in a container with the " +
			"fooocus layout, else none)"},
		&cli.StringFlag{Name: flagLayout, Usage: "folder names: fooocus, comfyui or a1111 " +
			"(env PROVISION_LAYOUT; default fooocus)"},
		&cli.IntFlag{Name: flagConnections, DefaultText: "16",
			Usage: "HTTP connections shared by all files (env PROVISION_CONNECTIONS)"},
		&cli.StringFlag{Name: flagMaxRate, Usage: "total bandwidth cap such as 200MB/s; 0 = none " +
			"(env PROVISION_MAX_RATE)"},
		&cli.StringFlag{Name: flagLogFile, Usage: "also write a log here " +
			"(env PROVISION_LOG_FILE; default /workspace/logs/provision.log when /workspace exists)"},
		&cli.StringFlag{Name: flagFolders, Usage: "category folders over the layout's, such as " +
			"lora=my_loras,vae=VAE (env PROVISION_FOLDERS; per category over [settings.folders])"},
		&cli.BoolFlag{Name: flagQuiet, Aliases: []string{"q"},
			Usage: "only failures and the summary (env PROVISION_QUIET)"},
		&cli.BoolFlag{Name: flagVerbose, Aliases: []string{"v"},
			Usage: "debug records in the log file: retries, requests, links (env PROVISION_VERBOSE)"},
	}
}

// runFlags are transferFlags plus what only run (and demo) take.
func runFlags() []cli.Flag {
	return append(transferFlags(),
		&cli.BoolFlag{Name: flagJSON, Usage: "one JSON event per line on stdout instead of " +
			"bars and tables (env PROVISION_JSON)"},
		&cli.BoolFlag{Name: flagLaunchAnyway, Usage: "run the command after -- even when " +
			"required entries failed (env PROVISION_LAUNCH_ANYWAY)"})
}

func newApp(env *environment) *cli.App {
	stdout, stderr := env.stdout, env.stderr
	app := &cli.App{
		Name:  "provision",
		Usage: "download AI model files onto a GPU host, fast, verified and resumable",
		Description: "Reads a TOML manifest of HuggingFace, CivitAI and URL entries and puts " +
			"every file into the models folder; then, given -- CMD ARGS..., starts the UI:\n" +
			"   provision run \"$PROVISION_URL\" -- python entry_with_update.py --listen\n" +
			"Exit codes: 0 all present, 1 some failed, 2 bad usage or manifest, " +
			"127 the command after -- cannot start, 130 interrupted (rerun resumes).",
		Writer:          stdout,
		ErrWriter:       stderr,
		HideHelpCommand: true,
		ExitErrHandler:  func(*cli.Context, error) {}, // exit codes are chosen in run
		Commands: []*cli.Command{
			{
				Name:  "run",
				Usage: "provision every entry of a manifest, then optionally exec a command",
				ArgsUsage: "[CONFIG] [-- CMD ARGS...]   (CONFIG: path or http(s) URL; " +
					"else $PROVISION_URL; else ./provision.toml)",
				Flags:  runFlags(),
				Action: env.runCmd,
			},
			{
				Name:      "plan",
				Usage:     "dry run: resolve every entry and show what would be fetched",
				ArgsUsage: "[CONFIG]",
				Flags: append(transferFlags(),
					&cli.BoolFlag{Name: flagJSON, Usage: "print the plan as JSON"}),
				Action: env.planCmd,
			},
			{
				Name:      "get",
				Usage:     "download one URL through the same engine",
				ArgsUsage: "URL",
				Flags: append(transferFlags(),
					&cli.StringFlag{Name: "output", Aliases: []string{"o"},
						Usage: "file to write (default: the name the server gives, in .)"}),
				Action: env.getCmd,
			},
			{
				Name:   "sim",
				Usage:  "serve the loopback simulator (hub, CivitAI, CDN, files) until interrupted",
				Flags:  simFlags(),
				Action: env.simCmd,
			},
			{
				Name: "bench",
				Usage: "measure downloads from the simulator (in a child process) or --url: " +
					"MB/s, ideal, client CPU per GiB, peak RSS",
				Flags:  benchFlags(),
				Action: env.benchCmd,
			},
			{
				Name:   "demo",
				Usage:  "provision the bundled example manifest from the built-in simulator into ./models",
				Flags:  runFlags(),
				Action: env.demoCmd,
			},
		},
	}
	app.OnUsageError = usageError("")
	for _, c := range app.Commands {
		c.OnUsageError = usageError(c.Name)
	}
	return app
}

// environment is what commands share: where output goes and how the
// process environment is read (tests pass their own).
type environment struct {
	stdout, stderr io.Writer
	getenv         func(string) string

	// command is what followed "--" on the run command line: the program
	// to exec once every entry is present (nil: exit instead).
	command []string
	// exec replaces the process (syscall.Exec); tests put a recorder here.
	exec func(argv0 string, argv, envv []string) error
	// container reports whether defaults are the container ones; nil
	// looks for /workspace.
	container func() bool

	track *tracker     // set by newReporter: first-byte times for the summary
	ev    *eventWriter // the --json stream, made on first use
	// linkErrs are the UI folders that could not be linked in this run:
	// they fail the run (exit 1) and block the launch like a failed entry.
	linkErrs []error
}

// reorderArgs moves a subcommand's flags in front of its positional
// arguments, so that "provision run x.toml --models-dir m" works as users
// type it (the flag package stops at the first positional argument).
// Everything after "--" is left alone.
func reorderArgs(args []string) []string {
	if len(args) < 3 {
		return args
	}
	valueFlags := map[string]bool{}
	for _, f := range slices.Concat(transferFlags(), []cli.Flag{&cliOutput}, simFlags(),
		benchFlags()) {
		if _, isBool := f.(*cli.BoolFlag); isBool {
			continue
		}
		for _, n := range f.Names() {
			valueFlags[n] = true
		}
	}
	out := []string{args[0], args[1]}
	var flags, pos []string
	rest := args[2:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if a == "--" {
			pos = append(pos, rest[i:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if !strings.Contains(name, "=") && valueFlags[name] && i+1 < len(rest) {
			flags = append(flags, rest[i+1])
			i++
		}
	}
	return append(append(out, flags...), pos...)
}

var cliOutput = cli.StringFlag{Name: "output", Aliases: []string{"o"}}
