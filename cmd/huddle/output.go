package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"text/tabwriter"

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
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	for _, it := range items {
		fmt.Fprintln(tw, strings.Join(row(it), "\t"))
	}
	return tw.Flush()
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
	code, msg := describe(err)
	if !a.json {
		fmt.Fprintln(a.stderr, "huddle:", msg)
		return
	}
	if pe, ok := err.(*protocol.Error); ok {
		msg = pe.Message // the code has its own field
	}
	_ = writeJSON(a.stderr, map[string]any{"error": protocol.Error{Code: code, Message: msg}})
}

// describe maps an error to its protocol code and message, in one place.
func describe(err error) (protocol.Code, string) {
	var (
		ue *usageError
		ce *cliError
		pe *protocol.Error
		ne net.Error
	)
	switch {
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
