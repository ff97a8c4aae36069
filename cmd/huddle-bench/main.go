package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"huddle/internal/rlimit"
)

// defaultServer is the server huddled listens on by default (DESIGN §1).
const defaultServer = "127.0.0.1:7700"

func main() {
	if spec := os.Getenv(forwarderEnv); spec != "" { // hop's forwarder process
		os.Exit(forwarderMain(spec))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// globals are the flags every scenario shares.
type globals struct {
	server string
	json   bool
}

// register defines the shared flags on fs with the values already parsed as
// defaults, so that they may come before the scenario or after it (DESIGN §5
// writes `huddle-bench SCENARIO --server ADDR --json`).
func (g *globals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.server, "server", g.server, "server address `HOST:PORT` (env HUDDLE_SERVER)")
	fs.BoolVar(&g.json, "json", g.json, "print the summary as one JSON object")
}

// runFunc runs one scenario with its flags already parsed.
type runFunc func(ctx context.Context, g globals, progress io.Writer) (result, error)

// scenario is one named load. flags defines the scenario's flags on fs and
// returns the function that runs it with their values.
type scenario struct {
	summary string
	flags   func(fs *flag.FlagSet) runFunc
}

var scenarios = map[string]scenario{
	"request": {"user.get round trips on logged-in connections", requestFlags},
	"connect": {"connect, resume a session and close, over and over", connectFlags},
	"login":   {"password logins, each followed by a logout", loginFlags},
	"idle":    {"hold authenticated connections, measure server RSS", idleFlags},
	"chat":    {"durable private messages, each sender to its own online peer", chatFlags},
	"fanout":  {"messages to one group, counted as pushes at its online members", fanoutFlags},
	"mixed":   {"private and group messages, history, typing and user.get, drawn at random", mixedFlags},
	"file":    {"one file up and down the data channel, next to plain net/http", fileFlags},
	"media":   {"RTP through the relay, one publisher and K subscribers per meeting", mediaFlags},
	"hop":     {"the media load through a bare forwarder process, no server: the latency floor", hopFlags},
}

// exitInterrupted is the exit status of a run cut short by SIGINT or
// SIGTERM, as a shell reports one killed by SIGINT.
const exitInterrupted = 130

// usageError is a bad command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	g := globals{server: defaultServer}
	if s := os.Getenv("HUDDLE_SERVER"); s != "" {
		g.server = s
	}
	fs := flag.NewFlagSet("huddle-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	g.register(fs)
	fs.Usage = func() { printUsage(stderr, fs) }
	if err := fs.Parse(args); err != nil {
		return exitParse(err)
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	name := fs.Arg(0)
	sc, ok := scenarios[name]
	if !ok {
		fmt.Fprintf(stderr, "huddle-bench: unknown scenario %q\n", name)
		fs.Usage()
		return 2
	}
	sfs := flag.NewFlagSet("huddle-bench "+name, flag.ContinueOnError)
	sfs.SetOutput(stderr)
	g.register(sfs)
	runScenario := sc.flags(sfs)
	if err := sfs.Parse(fs.Args()[1:]); err != nil {
		return exitParse(err)
	}
	if sfs.NArg() > 0 {
		fmt.Fprintf(stderr, "huddle-bench %s: unexpected argument %q\n", name, sfs.Arg(0))
		return 2
	}

	res, err := runScenario(ctx, g, stderr)
	var ue usageError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "huddle-bench %s: %v\n", name, err)
		return 2
	case err != nil && ctx.Err() != nil:
		fmt.Fprintf(stderr, "huddle-bench %s: interrupted before the run: %v\n", name, err)
		return exitInterrupted
	case err != nil:
		fmt.Fprintf(stderr, "huddle-bench %s: %v\n", name, err)
		return 1
	}
	res.Interrupted = ctx.Err() != nil
	if err := res.print(stdout, g.json); err != nil {
		fmt.Fprintf(stderr, "huddle-bench: %v\n", err)
		return 1
	}
	if res.Interrupted {
		fmt.Fprintf(stderr, "huddle-bench %s: interrupted; the summary covers the run until then\n", name)
		return exitInterrupted
	}
	if res.Errors > 0 {
		fmt.Fprintf(stderr, "huddle-bench %s: %d errors, first: %s\n", name, res.Errors, res.FirstError)
		return 1
	}
	return 0
}

func exitParse(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}

func printUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintln(w, "usage: huddle-bench [--server HOST:PORT] [--json] SCENARIO [flags]")
	fmt.Fprintln(w, "\nscenarios (huddle-bench SCENARIO -h lists a scenario's flags):")
	names := make([]string, 0, len(scenarios))
	for n := range scenarios {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, scenarios[n].summary)
	}
	fmt.Fprintln(w, "\nflags:")
	fs.PrintDefaults()
}

// connFlags defines the flags about connections and users that most
// scenarios have; --clients is DESIGN §5's name for --conns. users is nil
// for a scenario that picks its users itself.
func connFlags(fs *flag.FlagSet, conns *int, connsDoc string, users *int, usersDoc string) {
	fs.IntVar(conns, "conns", *conns, connsDoc)
	fs.IntVar(conns, "clients", *conns, "same as --conns")
	if users != nil {
		fs.IntVar(users, "users", *users, usersDoc)
	}
}

// checkConns validates --conns and --users, and raises this process's file
// limit to hold conns connections: the bench needs one descriptor per
// connection just like the server.
func checkConns(conns, users int) error {
	if conns < 1 {
		return usagef("--conns must be at least 1")
	}
	if users < 0 {
		return usagef("--users must not be negative")
	}
	limit, err := rlimit.RaiseFiles()
	if err == nil && uint64(conns)+fdReserve > limit {
		return usagef("%d connections and sockets need more file descriptors than RLIMIT_NOFILE allows (%d, %d kept for other use)",
			conns, limit, fdReserve)
	}
	return nil
}

// fdReserve is what checkConns keeps for stdio, the Go runtime's own
// descriptors and the short-lived connections that register users.
const fdReserve = 64

func progressf(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "huddle-bench: "+strings.TrimSuffix(format, "\n")+"\n", args...)
}
