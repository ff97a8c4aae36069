package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// password reads one password: the next line of stdin when stdin is not a
// terminal, otherwise a prompt on the terminal without echo, asked twice when
// confirm is set.
func (a *app) password(ctx context.Context, prompt string, confirm bool) (string, error) {
	f, ok := a.stdin.(*os.File)
	if !ok || !isTerminal(f) {
		pw, err := a.line()
		if err != nil {
			return "", usageErrorf("read password from stdin: %v", err)
		}
		return pw, nil
	}
	pw, err := a.prompt(ctx, f, prompt)
	if err != nil || !confirm {
		return pw, err
	}
	again, err := a.prompt(ctx, f, "Retype "+strings.ToLower(prompt[:1])+prompt[1:])
	if err != nil {
		return "", err
	}
	if again != pw {
		return "", usageErrorf("the passwords do not match")
	}
	return pw, nil
}

// line returns the next line of stdin without its line ending; an empty
// line is an error, since no password may be empty.
func (a *app) line() (string, error) {
	if a.lines == nil {
		a.lines = bufio.NewReader(a.stdin)
	}
	s, err := a.lines.ReadString('\n')
	if errors.Is(err, io.EOF) && s != "" {
		err = nil
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			return "", errors.New("no more lines on stdin")
		}
		return "", err
	}
	s = strings.TrimRight(s, "\r\n")
	if s == "" {
		return "", errors.New("empty line")
	}
	return s, nil
}

// prompt asks on the terminal with echo off. An interrupt restores the echo
// and ends the read.
func (a *app) prompt(ctx context.Context, f *os.File, prompt string) (string, error) {
	fmt.Fprint(a.stderr, prompt)
	restore, err := disableEcho(f)
	if err != nil {
		return "", fmt.Errorf("turn off terminal echo: %w", err)
	}
	type result struct {
		s   string
		err error
	}
	ch := make(chan result, 1)
	// The read cannot be interrupted; on cancellation the goroutine is left
	// blocked and ends with the process, which is about to exit.
	go func() {
		s, err := a.line()
		ch <- result{s, err}
	}()
	var r result
	select {
	case r = <-ch:
	case <-ctx.Done():
		r.err = ctx.Err()
	}
	restore()
	fmt.Fprintln(a.stderr)
	if r.err != nil && ctx.Err() == nil {
		r.err = usageErrorf("read password: %v", r.err)
	}
	return r.s, r.err
}
