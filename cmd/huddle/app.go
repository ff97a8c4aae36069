package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// app is one invocation's settings and streams. Global flags bind to its
// fields on every FlagSet, so they may come before or after the command.
type app struct {
	server    string
	serverSet bool  // --server or HUDDLE_SERVER chose the address explicitly
	serverErr error // HUDDLE_SERVER is not HOST:PORT; reported unless --server replaces it
	home      string
	json      bool

	stdin  io.Reader
	lines  *bufio.Reader // stdin read line by line, created on first use
	stdout io.Writer
	stderr io.Writer
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *app {
	a := &app{server: defaultServer, stdin: stdin, stdout: stdout, stderr: stderr}
	if s := os.Getenv("HUDDLE_SERVER"); s != "" {
		a.server, a.serverSet = s, true
		if err := checkServer(s); err != nil {
			a.serverErr = usageErrorf("HUDDLE_SERVER=%q: %v", s, err)
		}
	}
	a.home = os.Getenv("HUDDLE_HOME")
	if a.home == "" {
		if dir, err := os.UserHomeDir(); err == nil {
			a.home = filepath.Join(dir, ".huddle")
		}
	}
	return a
}

// serverFlag records that --server was given, so that the address in a
// saved session does not override it.
type serverFlag struct{ a *app }

func (f serverFlag) String() string {
	if f.a == nil {
		return ""
	}
	return f.a.server
}

func (f serverFlag) Set(s string) error {
	if err := checkServer(s); err != nil {
		return err
	}
	f.a.server, f.a.serverSet, f.a.serverErr = s, true, nil
	return nil
}

// checkServer accepts HOST:PORT with a numeric port, so that a typo is a
// usage error rather than a network error at the first dial.
func checkServer(s string) error {
	if s == "" {
		return errors.New("empty address")
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return errors.New("want HOST:PORT")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("want HOST:PORT with a port 1-65535, not %q", port)
	}
	return nil
}

// newFlagSet returns a FlagSet that already holds the global flags. Errors
// and help are printed by the caller, not by package flag.
func (a *app) newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Var(serverFlag{a}, "server", "server address HOST:PORT (env HUDDLE_SERVER)")
	fs.StringVar(&a.home, "home", a.home, "session directory (env HUDDLE_HOME)")
	fs.BoolVar(&a.json, "json", a.json, "print results as JSON, one object per line")
	return fs
}

// flagError turns a flag parse error into a usage error, or prints help.
func (a *app) flagError(err error, cmd string) error {
	if errors.Is(err, flag.ErrHelp) {
		a.printUsage(a.stdout, cmd)
		return err
	}
	msg := flagDashes.Replace(err.Error())
	if cmd == "" {
		return usageErrorf("%s", msg)
	}
	return usageErrorf("%s: %s", cmd, msg)
}

// flagDashes writes package flag's messages with the two dashes the usage
// and the docs use (flag names them with one: "-bogus").
var flagDashes = strings.NewReplacer(
	"flag provided but not defined: -", "unknown flag --",
	"flag needs an argument: -", "flag needs an argument: --",
	" for flag -", " for flag --",
	" for -", " for --", // invalid boolean value "x" for -json
)

// note tells the user what a long-running command is doing, on stderr; with
// --json stderr carries only errors and warnings, so notes are left out.
func (a *app) note(format string, args ...any) {
	if !a.json {
		fmt.Fprintf(a.stderr, "huddle: "+format+"\n", args...)
	}
}

// warn reports a problem that does not fail the command: one line on
// stderr, or {"warning":{"code","message"}} with --json.
func (a *app) warn(what string, err error) {
	a.report("warning", what, err)
}

// usageError is a mistake on the command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}
