// Command provision puts AI model files onto a GPU host: it reads a TOML
// manifest of HuggingFace, CivitAI and URL entries, downloads every file with
// the chunked engine into the models folder, verifies it, and links it where
// the UI looks. See the README for the manifest format and the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes, as documented in the README.
const (
	exitOK          = 0
	exitFailed      = 1   // some entries failed; the others completed
	exitUsage       = 2   // bad command line or manifest
	exitInterrupted = 130 // SIGINT/SIGTERM; journals kept, a rerun resumes
)

func main() {
	second := make(chan os.Signal, 2)
	signal.Notify(second, os.Interrupt, syscall.SIGTERM)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go exitOnSecondSignal(second)
	code := run(ctx, os.Args, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// exitOnSecondSignal lets the first signal on sigs pass (the run's context
// stops it gracefully) and exits at once on a second one: a user who
// presses Ctrl-C again does not want to wait. What is on disk is then as
// after a kill: the journals never claim unsynced bytes. sigs must be
// registered before the run starts, so that no signal is missed.
func exitOnSecondSignal(sigs <-chan os.Signal) {
	<-sigs
	<-sigs
	fmt.Fprintln(os.Stderr, "provision: second signal; exiting now, a rerun resumes")
	os.Exit(exitInterrupted)
}

// run is main without the process: tests call it with their own arguments,
// writers and environment.
func run(ctx context.Context, args []string, stdout, stderr io.Writer,
	getenv func(string) string) int {
	return runEnv(ctx, args, &environment{stdout: stdout, stderr: stderr, getenv: getenv})
}

// runEnv is run with an environment the caller built (tests set exec and
// container on it).
func runEnv(ctx context.Context, args []string, env *environment) int {
	if len(args) > 1 && args[1] == "help" { // "provision help [CMD]" is "provision [CMD] --help"
		args = append(append([]string{args[0]}, args[2:]...), "--help")
	}
	args = implicitRun(args)
	if err := unknownCommand(args); err != nil {
		return exitCode(ctx, err, env.stderr)
	}
	args, command, hasCmd := splitCommand(args)
	if hasCmd {
		if len(command) == 0 {
			return exitCode(ctx, usageErr("nothing after --: give the command to start, "+
				"e.g. -- python entry_with_update.py --listen"), env.stderr)
		}
		env.command = command
	}
	app := newApp(env)
	err := app.RunContext(ctx, reorderArgs(args))
	stderr := env.stderr
	return exitCode(ctx, err, stderr)
}

// exitCode maps the error a command returned to the process exit code and
// prints it once.
func exitCode(ctx context.Context, err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var ex *exitError
	if errors.As(err, &ex) {
		if ex.msg != "" {
			fmt.Fprintln(stderr, "provision:", ex.msg)
		}
		return ex.code
	}
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "provision: interrupted; journals kept, run again to resume")
		return exitInterrupted
	}
	fmt.Fprintln(stderr, "provision:", err)
	return exitUsage
}

// exitError carries a chosen exit code out of a command.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func usageErr(format string, a ...any) error {
	return &exitError{code: exitUsage, msg: fmt.Sprintf(format, a...)}
}
