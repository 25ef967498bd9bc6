package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"provision/internal/netx"
)

// implicitRun makes "provision CONFIG [-- CMD...]" mean "provision run
// CONFIG [-- CMD...]": a first argument that is neither a command nor a
// flag, and looks like a path or URL (it has a '.', '/' or '\\'), is a
// manifest.
func implicitRun(args []string) []string {
	if len(args) < 2 || strings.HasPrefix(args[1], "-") && args[1] != "--" {
		return args
	}
	for _, c := range newApp(&environment{}).Commands {
		if c.HasName(args[1]) {
			return args
		}
	}
	if a := args[1]; a != "--" && !strings.ContainsAny(a, "./\\") {
		return args // not a path or URL: let the command line say it is unknown
	}
	return append([]string{args[0], "run"}, args[1:]...)
}

// splitCommand takes the command to launch off a run command line:
// "provision run [CONFIG] [flags] -- CMD ARGS..." gives the arguments
// before "--" and CMD ARGS. Only run launches; other command lines are
// returned whole. hasCmd is true when "--" was there, even with nothing
// after it (which is a usage error the caller reports).
func splitCommand(args []string) (rest, cmd []string, hasCmd bool) {
	if len(args) < 2 || args[1] != "run" {
		return args, nil, false
	}
	for i := 2; i < len(args); i++ {
		if args[i] == "--" {
			return args[:i:i], args[i+1:], true
		}
	}
	return args, nil, false
}

// exitLaunch is the exit code when the command after "--" cannot be
// started (not found, not executable), as a shell reports it.
const exitLaunch = 127

// launchPlan is the decision taken after provisioning: whether to exec the
// command, and what to say about it.
type launchPlan struct {
	launch bool
	argv   []string
	// why is a line for the user: the failed entries that allowed or
	// blocked the launch ("" when everything is present).
	why string
}

// decideLaunch looks at the results of a run that was not interrupted.
// Every entry present: launch. Failures only in entries marked
// optional = true: launch, naming them. A required entry failed: no
// launch, unless anyway (--launch-anyway).
func decideLaunch(results []*entryResult, argv []string, anyway bool) launchPlan {
	var required, optional []string
	for _, r := range results {
		if !r.failed() {
			continue
		}
		if r.entry.Optional {
			optional = append(optional, r.entry.Key)
		} else {
			required = append(required, r.entry.Key)
		}
	}
	p := launchPlan{argv: argv, launch: true}
	switch {
	case len(required) > 0 && !anyway:
		p.launch = false
		p.why = fmt.Sprintf("not starting %s: %d required %s failed (%s); fix %s and run "+
			"again, mark %s optional = true in the manifest, or set --launch-anyway "+
			"(PROVISION_LAUNCH_ANYWAY=1)", argv[0], len(required), plural(len(required),
			"entry", "entries"), strings.Join(required, ", "), them(len(required)),
			them(len(required)))
	case len(required) > 0:
		p.why = fmt.Sprintf("starting %s although %d required %s failed (%s): "+
			"--launch-anyway is set", argv[0], len(required),
			plural(len(required), "entry", "entries"), strings.Join(required, ", "))
	case len(optional) > 0:
		p.why = fmt.Sprintf("starting %s without %d optional %s that failed (%s)", argv[0],
			len(optional), plural(len(optional), "entry", "entries"),
			strings.Join(optional, ", "))
	}
	return p
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func them(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

// launch replaces the process with argv (looked up in PATH), keeping the
// environment, so that the UI gets the container's signals directly. It
// returns only when the exec failed.
func (env *environment) launch(argv []string) error {
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return &exitError{code: exitLaunch, msg: fmt.Sprintf("launch %s: %v", argv[0], err)}
	}
	do := env.exec
	if do == nil {
		do = syscall.Exec
	}
	if err := do(path, argv, os.Environ()); err != nil {
		return &exitError{code: exitLaunch, msg: fmt.Sprintf("launch %s: %v", path, err)}
	}
	return nil
}

// shellQuote renders argv the way a shell user would type it, for the
// "starting" line; URLs among the arguments lose their query strings and
// user info (netx.Redact), where signed links and tokens travel.
func shellQuote(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range redactArgs(argv) {
		if a != "" && !strings.ContainsAny(a, " \t\n'\"\\$`;&|<>()*?[]#~") {
			out[i] = a
			continue
		}
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}

// redactArgs returns argv with every URL argument passed through
// netx.Redact, for printing.
func redactArgs(argv []string) []string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if strings.Contains(a, "://") {
			a = netx.Redact(a)
		}
		out[i] = a
	}
	return out
}
