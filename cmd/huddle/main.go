package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"huddle/protocol"
)

// version is the CLI version, set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

// defaultServer is the control address when neither --server nor
// HUDDLE_SERVER says otherwise.
const defaultServer = "127.0.0.1:7700"

// requestTimeout bounds connecting plus one command's requests; listen has
// its own --timeout.
const requestTimeout = 30 * time.Second

// command is one row of the command table.
type command struct {
	name    string // the words after "huddle", e.g. "friend add"
	usage   string // arguments and flags, e.g. "NAME --email EMAIL"
	summary string
	run     func(ctx context.Context, a *app, cl *cmdLine) error
}

// commands is the command table in help order. A new topic adds a function
// returning its rows in its own file and one entry here. (Functions rather
// than variables: the rows refer to commands that print the table.)
func commands() []command {
	return slices.Concat(authCommands(), friendCommands(), chatCommands(), groupCommands(), fileCommands(), meetingCommands(), recordCommands(), callCommands(), listenCommands())
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line and returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := newApp(stdin, stdout, stderr)
	err := a.run(ctx, args)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	}
	a.printError(err)
	var ue *usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

func (a *app) run(ctx context.Context, args []string) error {
	fs := a.newFlagSet("huddle")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return a.flagError(err, "")
	}
	if *showVersion {
		return a.print(struct {
			Version  string `json:"version"`
			Protocol int    `json:"protocol"`
		}{version, protocol.Version}, "huddle %s (protocol %d)", version, protocol.Version)
	}
	rest := fs.Args()
	if len(rest) == 0 {
		a.usageHint("")
		return usageErrorf("no command given")
	}
	if rest[0] == "help" {
		topic := strings.Join(rest[1:], " ")
		if !slices.ContainsFunc(commands(), func(c command) bool { return c.under(topic) }) {
			return usageErrorf("unknown command %q (run huddle help)", topic)
		}
		a.printUsage(a.stdout, topic)
		return nil
	}
	cmd, n := findCommand(rest)
	if cmd == nil {
		if group := rest[0]; isGroup(group) {
			if len(rest) > 1 && isHelpFlag(rest[1]) { // huddle group --help
				a.printUsage(a.stdout, group)
				return flag.ErrHelp
			}
			a.usageHint(group)
			if len(rest) == 1 {
				return usageErrorf("%s: missing subcommand", group)
			}
			return usageErrorf("unknown command %q", group+" "+rest[1])
		}
		return usageErrorf("unknown command %q (run huddle help)", rest[0])
	}
	cl := &cmdLine{cmd: cmd, a: a, fs: a.newFlagSet("huddle " + cmd.name), args: rest[n:]}
	return cmd.run(ctx, a, cl)
}

// findCommand matches the longest command name at the start of args and
// returns it with the number of words it used.
func findCommand(args []string) (*command, int) {
	var best *command
	n := 0
	for _, c := range commands() {
		words := strings.Fields(c.name)
		if len(words) > n && len(words) <= len(args) && slices.Equal(words, args[:len(words)]) {
			best, n = &c, len(words)
		}
	}
	return best, n
}

// under reports whether c is the command topic names, or one of the group
// of commands it starts ("group" for "group send"); every command is under "".
func (c command) under(topic string) bool {
	return topic == "" || c.name == topic || strings.HasPrefix(c.name, topic+" ")
}

// line is the command as its usage shows it: its name, then its arguments
// (none for whoami, so no trailing space).
func (c command) line() string {
	return strings.TrimSpace(c.name + " " + c.usage)
}

// isHelpFlag reports whether arg asks for help, as package flag reads it.
func isHelpFlag(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--h" || arg == "--help"
}

// isGroup reports whether word starts multi-word commands, like "friend".
func isGroup(word string) bool {
	return slices.ContainsFunc(commands(), func(c command) bool { return strings.HasPrefix(c.name, word+" ") })
}

// usageHint shows the usage next to a usage error, except with --json,
// where stderr carries only the JSON error.
func (a *app) usageHint(prefix string) {
	if !a.json {
		a.printUsage(a.stderr, prefix)
	}
}

// usageColumn is the width of the command column of the usage text.
const usageColumn = 40

func (a *app) printUsage(w io.Writer, prefix string) {
	fmt.Fprintln(w, "usage: huddle [--server HOST:PORT] [--home DIR] [--json] COMMAND [ARGS]")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands() {
		if !c.under(prefix) {
			continue
		}
		line := c.line()
		if len(line) >= usageColumn {
			// Too long for the column: the summary goes below, aligned.
			fmt.Fprintf(w, "  %s\n  %-*s %s\n", line, usageColumn, "", c.summary)
			continue
		}
		fmt.Fprintf(w, "  %-*s %s\n", usageColumn, line, c.summary)
	}
	fmt.Fprintln(w, "\nglobal flags (before or after the command):")
	fmt.Fprintln(w, "  --server HOST:PORT  server address (env HUDDLE_SERVER, default "+defaultServer+")")
	fmt.Fprintln(w, "  --home DIR          session directory (env HUDDLE_HOME, default ~/.huddle)")
	fmt.Fprintln(w, "  --json              print results as JSON, one object per line")
	fmt.Fprintln(w, "  --version           print the version")
}

// cmdLine is one command's arguments and flags. Commands define their flags
// on fs, then call parse.
type cmdLine struct {
	cmd  *command
	a    *app
	fs   *flag.FlagSet
	args []string
}

// parse parses flags anywhere among the arguments (global ones included) and
// returns the positional arguments, between minArgs and maxArgs of them
// (maxArgs < 0: no limit). "--" ends the flags.
func (cl *cmdLine) parse(minArgs, maxArgs int) ([]string, error) {
	var pos []string
	args := cl.args
	for {
		if err := cl.fs.Parse(args); err != nil {
			return nil, cl.a.flagError(err, cl.cmd.name)
		}
		rest := cl.fs.Args()
		if len(rest) == 0 {
			break
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
	switch {
	case cl.a.serverErr != nil:
		return nil, cl.a.serverErr
	case len(pos) == 0 && minArgs > 0 && noArgsHints[cl.cmd.name] != "":
		return nil, cl.usageErrorf("missing argument; %s", noArgsHints[cl.cmd.name])
	case len(pos) < minArgs:
		return nil, cl.usageErrorf("missing argument")
	case maxArgs >= 0 && len(pos) > maxArgs:
		return nil, cl.usageErrorf("unexpected argument %q", pos[maxArgs])
	}
	return pos, nil
}

func (cl *cmdLine) usageErrorf(format string, args ...any) error {
	return usageErrorf("%s: %s (usage: huddle %s)", cl.cmd.name, fmt.Sprintf(format, args...), cl.cmd.line())
}
