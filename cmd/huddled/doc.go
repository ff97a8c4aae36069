// Command huddled is the Huddle server: flags and HUDDLE_* variables on top of
// an optional YAML file (DESIGN §6), slog logging, RLIMIT_NOFILE raised to
// its hard limit, and a clean drain on SIGINT/SIGTERM.
package main
