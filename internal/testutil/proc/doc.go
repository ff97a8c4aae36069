// Package proc runs Huddle's binaries as processes of their own in tests:
// it builds a command, starts it with only the test's HUDDLE_* settings,
// captures its output, waits until it accepts connections, and kills it when
// the test ends. It must not import huddle/server (or anything that pulls
// in the actors and the stores), so that the CLI's tests stay light; it is
// imported by tests only.
package proc
