package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/pflag"
)

// Exit statuses, documented in --help and the README.
const (
	exitOK       = 0 // the run finished (malformed lines skipped and counted)
	exitUnusable = 1 // an input was unusable, --strict stopped at a bad line, or --fail-on matched
	exitUsage    = 2 // usage error: unknown flag, bad value, no input
	exitFailure  = 3 // the run itself failed (output not writable, database unreachable)
)

const exitCodesHelp = `Exit status:
  0  the run finished; malformed lines were skipped, reported and counted
  1  an input was unusable (unreadable, unrecognized, unsupported; for
     capture, the interface or listener could not be opened) — the others
     were still read —, --strict stopped at a malformed line, or a
     --fail-on condition was met (analyze, whatif, policy lint)
  2  usage error (unknown flag, bad value, no input, invalid policy file);
     nothing was read
  3  the run failed (output could not be written; the ClickHouse store
     could not be opened, or batches stayed pending in the spool)
`

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(env *env, args []string) int
}

// env carries what commands need from the process, so tests can run them.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	stderrIsTTY    bool
}

// registered holds commands that live in their own file and add themselves
// in an init function (capture.go, whatif.go, report.go), so that adding a
// command touches no shared list.
var registered []command

// commandOrder is the order of --help; commands not listed come last.
var commandOrder = []string{"flows", "capture", "analyze", "whatif", "report", "policy", "db", "version"}

func commands() []command {
	all := append([]command{
		{"flows", "read flow logs and captures, print normalized flow records", runFlows},
		{"analyze", "judge flow records against security groups, network ACLs and IP filters", runAnalyze},
		{"policy", "show and lint policies (configuration only, no traffic)", runPolicy},
		{"db", "create or upgrade the ClickHouse schema (db migrate)", runDB},
		{"version", "print the version", runVersion},
	}, registered...)
	rank := func(name string) int {
		for i, n := range commandOrder {
			if n == name {
				return i
			}
		}
		return len(commandOrder)
	}
	sort.SliceStable(all, func(i, j int) bool { return rank(all[i].name) < rank(all[j].name) })
	return all
}

func main() {
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, stderrIsTTY: isTerminal(os.Stderr)}
	os.Exit(run(e, os.Args[1:]))
}

func run(e *env, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) > 1 && args[0] == "help" {
			return run(e, []string{args[1], "--help"})
		}
		usage(e.stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	if args[0] == "--version" {
		return runVersion(e, nil)
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(e, args[1:])
		}
	}
	fmt.Fprintf(e.stderr, "flowsift: unknown command %q (see flowsift --help)\n", args[0])
	return exitUsage
}

func usage(w io.Writer) {
	var b strings.Builder
	b.WriteString(`flowsift — flow-log analyzer and traffic-mirror inspector

Usage:
  flowsift COMMAND [FLAGS] [INPUT...]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-9s %s\n", c.name, c.summary)
	}
	b.WriteString(`
Inputs are files, directories (walked recursively), globs and - for standard
input; gzip is undone and every format is detected by content.

Run 'flowsift COMMAND --help' for a command's flags and examples.

` + exitCodesHelp)
	io.WriteString(w, b.String())
}

// parseFlags parses args with fs, printing help or usage errors. It returns
// done=true with the exit status when the command must not run.
func parseFlags(e *env, fs *pflag.FlagSet, help string, args []string) (done bool, status int) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprint(e.stdout, help)
			fs.SetOutput(e.stdout)
			fs.PrintDefaults()
			fmt.Fprint(e.stdout, "\n"+exitCodesHelp)
			return true, exitOK
		}
		fmt.Fprintf(e.stderr, "flowsift %s: %v (see flowsift %s --help)\n", fs.Name(), err, fs.Name())
		return true, exitUsage
	}
	return false, exitOK
}

func usageError(e *env, cmd, format string, args ...any) int {
	fmt.Fprintf(e.stderr, "flowsift %s: %s (see flowsift %s --help)\n", cmd, fmt.Sprintf(format, args...), cmd)
	return exitUsage
}
