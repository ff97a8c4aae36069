// Command huddled is the Huddle server: flags and HUDDLE_* variables on top of
// an optional YAML file (DESIGN §6), exit status 2 for a bad configuration,
// slog logging, RLIMIT_NOFILE raised to its hard limit (connections capped to
// what it allows), and a clean drain on SIGINT/SIGTERM.
package main
