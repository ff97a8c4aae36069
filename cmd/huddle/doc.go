// Command huddle is Huddle's command-line client (DESIGN §5): one subcommand
// per request, scriptable with --json, exit status 0 on success, 1 on a server
// or network error and 2 on a usage error. The session token from `huddle
// login` lives in $HUDDLE_HOME/session.json, so two homes are two users.
//
// Commands are rows of a table (see commands in main.go), grouped by topic in
// their own files; each parses its own flags on a FlagSet that also accepts
// the global flags, and talks to the server only through package client.
package main
