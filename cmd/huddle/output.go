package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"text/tabwriter"
	"unicode"

	"huddle/client"
	"huddle/protocol"
)

// print writes one result: v as one JSON line with --json, otherwise the
// formatted text.
func (a *app) print(v any, format string, args ...any) error {
	if a.json {
		return writeJSON(a.stdout, v)
	}
	_, err := fmt.Fprintf(a.stdout, format+"\n", args...)
	return err
}

// printList writes a list: one JSON object per item with --json, otherwise
// aligned columns from row, or empty when there are no items.
func printList[T any](a *app, items []T, empty string, row func(T) []string) error {
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	if err := printItems(a, tw, items, empty, func(it T) string { return strings.Join(row(it), "\t") }); err != nil {
		return err
	}
	return tw.Flush()
}

// listCommand makes a command without arguments that prints the list fetch
// returns, as printList does.
func listCommand[T any](fetch func(*client.Client, context.Context) ([]T, error), empty string, row func(T) []string) func(context.Context, *app, *cmdLine) error {
	return func(ctx context.Context, a *app, cl *cmdLine) error {
		if _, err := cl.parse(0, 0); err != nil {
			return err
		}
		return a.withSession(ctx, func(ctx context.Context, c *client.Client) error {
			items, err := fetch(c, ctx)
			if err != nil {
				return err
			}
			return printList(a, items, empty, row)
		})
	}
}

// printLines is printList for free-form lines, such as messages, which
// must not be cut into columns at their own tabs.
func printLines[T any](a *app, items []T, empty string, line func(T) string) error {
	return printItems(a, a.stdout, items, empty, line)
}

func printItems[T any](a *app, w io.Writer, items []T, empty string, line func(T) string) error {
	if a.json {
		for _, it := range items {
			if err := writeJSON(a.stdout, it); err != nil {
				return err
			}
		}
		return nil
	}
	if len(items) == 0 {
		_, err := fmt.Fprintln(a.stdout, empty)
		return err
	}
	for _, it := range items {
		if _, err := fmt.Fprintln(w, line(it)); err != nil {
			return err
		}
	}
	return nil
}

// printable replaces control characters other than newline and tab, so
// that text from other users cannot drive the terminal (escape sequences
// that move the cursor, retitle the window, and so on).
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || !unicode.IsControl(r) {
			return r
		}
		return '\uFFFD'
	}, s)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// cliError is an error of the CLI itself, with the code --json reports.
type cliError struct {
	code protocol.Code
	msg  string
}

func (e *cliError) Error() string { return e.msg }

// printError reports err on stderr: {"error":{"code","message"}} with
// --json, otherwise one line.
func (a *app) printError(err error) {
	a.report("error", "", err)
}

// report writes err on stderr, after what when it is set: as one line, or
// with --json as {kind:{"code","message"}}.
func (a *app) report(kind, what string, err error) {
	code, msg := describe(err)
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" && oe.Addr != nil && oe.Addr.String() == a.server && errors.Is(err, syscall.ECONNREFUSED) {
		// The control connection's address, which the user chose.
		msg += " (is huddled running there? --server or HUDDLE_SERVER names another address)"
	}
	if pe, ok := err.(*protocol.Error); ok && a.json {
		msg = pe.Message // the code has its own field
	}
	if what != "" {
		msg = what + ": " + msg
	}
	if !a.json {
		if kind != "error" {
			msg = kind + ": " + msg
		}
		fmt.Fprintln(a.stderr, "huddle:", msg)
		return
	}
	_ = writeJSON(a.stderr, map[string]any{kind: protocol.Error{Code: code, Message: msg}})
}

// plural is one when n is 1, else many.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// describe maps an error to its protocol code and message, in one place.
func describe(err error) (protocol.Code, string) {
	var (
		ue *usageError
		ce *cliError
		pe *protocol.Error
		oe *net.OpError
		ne net.Error
	)
	switch {
	case errors.As(err, &oe) && oe.Op == "dial":
		if oe.Addr == nil {
			return protocol.CodeUnavailable, "cannot reach the server: " + oe.Err.Error()
		}
		return protocol.CodeUnavailable, fmt.Sprintf("cannot reach the server at %v: %v", oe.Addr, oe.Err)
	case errors.As(err, &ue):
		return protocol.CodeBadRequest, err.Error()
	case errors.As(err, &ce):
		return ce.code, err.Error()
	case errors.Is(err, client.ErrConnectionLost), errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne):
		return protocol.CodeUnavailable, err.Error()
	case errors.As(err, &pe):
		return pe.Code, err.Error()
	case errors.Is(err, context.Canceled):
		return protocol.CodeUnavailable, "interrupted"
	}
	return protocol.CodeInternal, err.Error()
}
