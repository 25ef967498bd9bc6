package main

import (
	"fmt"
	"log/slog"
	"os"

	"provision/store"
)

// reportLinks tells the user what linking the UI's folders did wrong: a
// folder that could not be linked (kept in env.linkErrs: it fails the run
// and blocks the launch), and a user's own file that hides a downloaded one
// of the same name from the UI (a warning line).
func (env *environment) reportLinks(cfg *config, logger *slog.Logger, linked []store.Linked,
	errs []error) {
	for _, l := range linked {
		if l.Action != store.LinkKept {
			continue
		}
		logger.Warn("link kept", "path", l.Path, "target", l.Target)
		if cfg.JSON {
			env.events().emit("link_kept", "path", l.Path, "target", l.Target)
			continue
		}
		fmt.Fprintf(env.stdout, "note: %s is your own file, kept; the UI will not see the "+
			"downloaded %s\n", l.Path, l.Target)
	}
	env.linkErrs = errs
	for _, err := range errs {
		logger.Error("link failed", "err", err)
		if cfg.JSON {
			env.events().emit("link_failed", "error", err)
			continue
		}
		fmt.Fprintf(env.stderr, "provision: %v\n", err)
	}
}

// blockOnLinks turns a launch plan down when links failed: the UI would
// start without seeing the models. --launch-anyway starts it all the same.
func blockOnLinks(p launchPlan, links int, anyway bool) launchPlan {
	if links == 0 || !p.launch {
		return p
	}
	what := fmt.Sprintf("%d %s to the UI's folders failed", links, plural(links, "link", "links"))
	if anyway {
		msg := fmt.Sprintf("starting %s although %s: --launch-anyway is set", p.argv[0], what)
		if p.why != "" {
			msg = p.why + "; " + msg
		}
		p.why = msg
		return p
	}
	p.launch = false
	p.why = fmt.Sprintf("not starting %s: %s, so it would not see the models; fix %s (see "+
		"above) and run again, or set --launch-anyway (PROVISION_LAUNCH_ANYWAY=1)", p.argv[0],
		what, them(links))
	return p
}

// replaceReason says why a file already at final is not the one wanted
// ("size differs", "sha256 differs"), or "" when nothing usable is there.
func replaceReason(final string, size int64, sha string) string {
	fi, err := os.Stat(final)
	if err != nil || !fi.Mode().IsRegular() {
		return ""
	}
	switch {
	case size >= 0 && fi.Size() != size:
		return "size differs"
	case sha != "":
		return "sha256 differs"
	case size >= 0:
		return "the source has a new version"
	}
	return "not verified"
}

// reportReplace says, once, that a file in the models folder does not
// match and will be fetched again and replaced.
func (env *environment) reportReplace(cfg *config, rep reporter, logger *slog.Logger, it *item) {
	fi, _ := os.Stat(it.final)
	var have int64
	if fi != nil {
		have = fi.Size()
	}
	logger.Warn("replace", "file", it.label, "entry", it.entry.Key, "reason", it.replace,
		"bytes_on_disk", have, "size", it.target.Size)
	if cfg.JSON {
		env.events().emit("file_replace", "entry", it.entry.Key, "file", it.label,
			"path", it.final, "reason", it.replace)
		return
	}
	detail := it.replace
	if it.replace == "size differs" {
		detail = fmt.Sprintf("size differs: %s, expected %s", store.HumanBytes(have),
			store.HumanBytes(it.target.Size))
	}
	rep.warn("replace", fmt.Sprintf("%s is in the models folder but does not match (%s); "+
		"it will be fetched again and replaced", it.label, detail))
}
