package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// usageError turns a command line the flag parser rejects into one line
// and a pointer to the help, instead of the whole help text.
func usageError(command string) cli.OnUsageErrorFunc {
	return func(_ *cli.Context, err error, _ bool) error {
		msg := err.Error()
		if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
			if len(name) > 1 {
				name = "-" + name // the parser drops one of --name's dashes
			}
			msg = "unknown flag -" + name
		}
		help := "provision --help"
		if command != "" {
			help = "provision " + command + " --help"
		}
		return usageErr("%s; see %s", msg, help)
	}
}

// unknownCommand reports a first argument that is neither a command, a
// flag nor a manifest (see implicitRun), suggesting the nearest command.
func unknownCommand(args []string) error {
	if len(args) < 2 || strings.HasPrefix(args[1], "-") {
		return nil
	}
	name := args[1]
	if name == "help" || name == "h" {
		return nil
	}
	best, dist := "", 3
	for _, c := range newApp(&environment{}).Commands {
		if c.HasName(name) {
			return nil
		}
		if d := editDistance(name, c.Name); d < dist {
			best, dist = c.Name, d
		}
	}
	if best != "" {
		return usageErr("unknown command %q; did you mean %s?", name, best)
	}
	return usageErr("unknown command %q; see provision --help", name)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
