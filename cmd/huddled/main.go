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
	"strings"
	"syscall"

	"huddle/configs"
	"huddle/netio"
	"huddle/server"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cfg, showVersion, err := loadConfig(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "huddled:", err)
		return 2
	}
	if showVersion {
		fmt.Fprintln(stdout, "huddled", server.Version)
		return 0
	}
	log := newLogger(cfg.Log, stderr)
	if limit, err := netio.RaiseFileLimit(); err != nil {
		log.Warn("could not raise RLIMIT_NOFILE", "err", err, "limit", limit)
	} else {
		log.Info("connection capacity", "rlimit_nofile", limit, "max_conns", min(uint64(cfg.Net.MaxConns), limit))
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	srv, err := server.Start(ctx, cfg, log)
	if err != nil {
		log.Error("start failed", "err", err)
		return 1
	}
	log.Info("huddled running", "version", server.Version, "listen", srv.Addr().String(), "store", redactStore(cfg.Store))
	<-ctx.Done()
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Net.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Error("shutdown", "err", err)
		return 1
	}
	return 0
}

// loadConfig layers defaults, the YAML file, HUDDLE_* variables and flags.
func loadConfig(args []string, stderr io.Writer) (configs.Config, bool, error) {
	cfg := configs.DefaultConfig()
	fs := flag.NewFlagSet("huddled", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configFile := fs.String("config", os.Getenv("HUDDLE_CONFIG"), "YAML configuration file (env HUDDLE_CONFIG)")
	version := fs.Bool("version", false, "print the version and exit")
	flagVals := map[string]*string{}
	for _, name := range configs.FlagNames() {
		flagVals[name] = fs.String(name, "", fmt.Sprintf("overrides the config key (env %s)", configs.EnvName(name)))
	}
	if err := fs.Parse(args); err != nil {
		return cfg, false, err
	}
	if fs.NArg() > 0 {
		return cfg, false, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *version {
		return cfg, true, nil
	}
	if *configFile != "" {
		if err := cfg.LoadFile(*configFile); err != nil {
			return cfg, false, err
		}
	}
	if err := cfg.ApplyEnv(os.LookupEnv); err != nil {
		return cfg, false, err
	}
	var ferr error
	fs.Visit(func(f *flag.Flag) {
		if v, ok := flagVals[f.Name]; ok && ferr == nil {
			ferr = cfg.Set(f.Name, *v)
		}
	})
	if ferr != nil {
		return cfg, false, ferr
	}
	return cfg, false, cfg.Validate()
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
