package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"huddle/configs"
	"huddle/internal/rlimit"
	"huddle/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is huddled until ctx is done (SIGINT or SIGTERM). It returns the exit
// status: 0 after a clean stop, 1 if the server fails, 2 for a bad command
// line or configuration.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, showVersion, err := loadConfig(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		printUsage(stdout)
		return 0
	case err != nil:
		// One problem a line, each with the prefix: Validate joins its
		// findings with newlines, and YAML errors can span lines too.
		for line := range strings.Lines(err.Error()) {
			fmt.Fprintln(stderr, "huddled:", strings.TrimRight(line, "\n"))
		}
		var usage usageError
		if errors.As(err, &usage) {
			fmt.Fprintln(stderr, "huddled: run huddled --help for usage")
		}
		return 2
	case showVersion:
		fmt.Fprintln(stdout, "huddled", server.Version)
		return 0
	}
	log := newLogger(cfg.Log, stderr)
	fdLimit, err := rlimit.RaiseFiles()
	if err != nil {
		log.Warn("could not raise RLIMIT_NOFILE", "err", err, "fd_limit", fdLimit)
	}
	cfg.Net.MaxConns = logCapacity(log, cfg, fdLimit)

	procs := setProcs(cfg.Net.EffectiveEventLoops())
	srv, err := server.Start(ctx, cfg, log)
	if err != nil {
		log.Error("start failed", "err", err)
		return 1
	}
	metrics := "off"
	if a := srv.MetricsAddr(); a != nil {
		metrics = a.String()
	}
	log.Info("huddled running", "version", server.Version, "listen", srv.Addr().String(),
		"http", srv.HTTPAddr().String(), "media", srv.MediaAddr().String(), "metrics", metrics,
		"store", redactStore(cfg.EffectiveStore()), "data", cfg.Data, "gomaxprocs", procs)
	<-ctx.Done()
	log.Info("shutting down", "cause", context.Cause(ctx).Error())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Net.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Error("shutdown", "err", err)
		return 1
	}
	return 0
}

// usageError is a command line flag cannot parse.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// loadConfig layers defaults, the YAML file, HUDDLE_* variables and flags.
// It returns flag.ErrHelp for --help, and usageError for a command line it
// cannot parse.
func loadConfig(args []string) (configs.Config, bool, error) {
	cfg := configs.DefaultConfig()
	fs := flag.NewFlagSet("huddled", flag.ContinueOnError)
	// run prints the usage and the error itself, each once.
	fs.SetOutput(io.Discard)
	configFile := fs.String("config", os.Getenv("HUDDLE_CONFIG"), "")
	version := fs.Bool("version", false, "")
	flagVals := map[string]*string{}
	for _, name := range configs.FlagNames() {
		flagVals[name] = fs.String(name, "", "")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, false, err
		}
		return cfg, false, usageError{err}
	}
	if fs.NArg() > 0 {
		return cfg, false, usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	if *version {
		return cfg, true, nil
	}
	var keysErr error // unknown keys or wrong types: the rest of the file counts
	if *configFile != "" {
		if err := cfg.LoadFile(*configFile); err != nil {
			if !configs.KeysError(err) {
				return cfg, false, err
			}
			keysErr = err
		}
	}
	if err := cfg.ApplyEnv(os.LookupEnv); err != nil {
		return cfg, false, errors.Join(keysErr, err)
	}
	var ferr error
	fs.Visit(func(f *flag.Flag) {
		if v, ok := flagVals[f.Name]; ok && ferr == nil {
			ferr = cfg.Set(f.Name, *v)
		}
	})
	if ferr != nil {
		return cfg, false, errors.Join(keysErr, ferr)
	}
	return cfg, false, errors.Join(keysErr, cfg.Validate())
}

// printUsage writes huddled --help: every flag with the key it overrides,
// its default and its environment variable.
func printUsage(w io.Writer) {
	type row struct{ flag, help string }
	rows := []row{{"--config FILE", "YAML configuration file; configs/huddled.yaml lists every key (env HUDDLE_CONFIG)"}}
	for _, s := range configs.Settings() {
		rows = append(rows, row{"--" + s.Flag + " " + s.Arg,
			fmt.Sprintf("%s (%s; default %s; env %s)", s.Usage, s.Key, s.Default(), s.Env())})
	}
	rows = append(rows, row{"--version", "print the version and exit"}, row{"--help", "print this help and exit"})
	width := 0
	for _, r := range rows {
		width = max(width, len(r.flag))
	}
	fmt.Fprint(w, `Usage: huddled [flags]

Runs the Huddle server. Settings apply in this order, later ones winning:
defaults, the --config file, HUDDLE_* environment variables, flags.

`)
	for _, r := range rows {
		fmt.Fprintf(w, "  %-*s  %s\n", width, r.flag, r.help)
	}
}

func newLogger(c configs.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// redactStore hides a password in a MySQL DSN before it is logged.
func redactStore(store string) string {
	kind, dsn, _ := strings.Cut(store, ":")
	if kind != "mysql" {
		return store
	}
	if at := strings.LastIndex(dsn, "@"); at >= 0 {
		if user, _, hasPw := strings.Cut(dsn[:at], ":"); hasPw {
			return kind + ":" + user + ":***" + dsn[at:]
		}
	}
	return store
}

// setProcs gives the Go scheduler one P per CPU plus one per gnet event
// loop, unless GOMAXPROCS is set in the environment, and returns the
// number in force. An event loop waits for its connections in a blocking
// epoll_wait that keeps its P (a system call, not the Go poller), so with
// one P per CPU the actors, the message writer and the database driver
// wait for the runtime to take a P back from a sleeping loop (sysmon, every
// 20 µs to 10 ms). Measured on 2 vCPUs: chat peak 35.7–42.8k → 45.0–47.9k
// msg/s (bench/RESULTS.md, 2026-12-02).
func setProcs(loops int) int {
	if os.Getenv("GOMAXPROCS") != "" {
		return runtime.GOMAXPROCS(0)
	}
	n := runtime.NumCPU() + loops
	runtime.GOMAXPROCS(n)
	return n
}
