package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"huddle/protocol"
)

// The file data channel (DESIGN §3): the control connection authorizes a
// transfer and names a URL and a token; the bytes go over HTTP. Requests
// have bounded dialing and waiting for a response, but no overall timeout,
// since a big file takes the time it takes: a transfer that stops moving
// bytes is cut by a stall timer instead, and retried.

func newHTTPClient(o options) *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: o.dialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   o.dialTimeout,
		ResponseHeaderTimeout: o.headerTimeout,
		IdleConnTimeout:       30 * time.Second,
		MaxIdleConnsPerHost:   2,
		// Bigger than the 4 KiB default: fewer system calls per GiB.
		WriteBufferSize: defaultTransferBuffer,
		ReadBufferSize:  defaultTransferBuffer,
	}}
}

// transientError marks a failure worth retrying: the network, a stall, a
// server that is busy with the same upload or with too many transfers.
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

func transient(err error) error { return &transientError{err} }

func isTransient(err error) bool {
	var te *transientError
	return errors.As(err, &te)
}

// dataRequest is one request of the data channel.
type dataRequest struct {
	method, url, token string
	body               io.Reader
	size               int64 // the body's length; -1: chunked, as a trailer needs
	header             map[string]string
	trailer            http.Header
}

// do sends r. The request is cut when guard is not poked for the stall
// timeout (its meters poke it while bytes move). A network failure comes
// back transient; any response is the caller's to read and close.
func (c *Client) do(ctx context.Context, r dataRequest, guard *stallGuard) (*http.Response, error) {
	u, err := c.dataURL(r.url)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(guard.ctx, r.method, u, r.body)
	if err != nil {
		return nil, err
	}
	req.ContentLength = r.size
	req.Trailer = r.trailer
	req.Header.Set("Authorization", "Bearer "+r.token)
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if cause := context.Cause(guard.ctx); errors.Is(cause, errStalled) {
			err = cause
		}
		return nil, transient(fmt.Errorf("%s %s: %w", r.method, u, err))
	}
	return resp, nil
}

// dataURL checks a URL the server handed out. A server listening on all
// interfaces names itself 0.0.0.0 or [::], which is nowhere to connect to:
// its host is then the control connection's.
func (c *Client) dataURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", protocol.Errorf(protocol.CodeInternal, "the server sent a bad transfer URL %q", raw)
	}
	if ip := net.ParseIP(u.Hostname()); ip != nil && ip.IsUnspecified() {
		if host, _, err := net.SplitHostPort(c.addr); err == nil {
			u.Host = net.JoinHostPort(host, u.Port())
		}
	}
	return u.String(), nil
}

// httpError reads a failed response as a *protocol.Error: the server's
// {"error":{"code","message"}} when the body holds one (a HEAD response has
// no body), else one made from the status. Busy and unavailable servers'
// errors come back transient.
func httpError(resp *http.Response) error {
	var body struct {
		Error *protocol.Error `json:"error"`
	}
	err := error(protocol.Errorf(statusCode(resp.StatusCode), "data channel: %s", resp.Status))
	if json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body) == nil && body.Error != nil && body.Error.Code != "" {
		err = body.Error
	}
	if resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusConflict {
		return transient(err)
	}
	return err
}

// statusCode maps an HTTP status to the protocol's error codes.
func statusCode(status int) protocol.Code {
	switch status {
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return protocol.CodeBadRequest
	case http.StatusUnauthorized:
		return protocol.CodeUnauthorized
	case http.StatusForbidden:
		return protocol.CodeForbidden
	case http.StatusNotFound, http.StatusGone:
		return protocol.CodeNotFound
	case http.StatusConflict:
		return protocol.CodeConflict
	case http.StatusRequestEntityTooLarge, http.StatusRequestedRangeNotSatisfiable:
		return protocol.CodeTooLarge
	case http.StatusTooManyRequests:
		return protocol.CodeRateLimited
	case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout, http.StatusInsufficientStorage:
		return protocol.CodeUnavailable
	}
	return protocol.CodeInternal
}

// drain reads a little of a response body before closing it, so that its
// connection can be reused.
func drain(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
	resp.Body.Close()
}

var errStalled = errors.New("transfer stalled")

// stallGuard is one request's context, cancelled with errStalled when it is
// not poked for the stall timeout.
type stallGuard struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	timer  *time.Timer
	d      time.Duration
}

func (c *Client) guard(ctx context.Context) *stallGuard {
	g := &stallGuard{d: c.opts.stallTimeout}
	g.ctx, g.cancel = context.WithCancelCause(ctx)
	g.timer = time.AfterFunc(g.d, func() {
		g.cancel(protocol.Errorf(protocol.CodeUnavailable, "%v: no bytes moved for %v", errStalled, g.d))
	})
	return g
}

func (g *stallGuard) poke()  { g.timer.Reset(g.d) }
func (g *stallGuard) pause() { g.timer.Stop() }
func (g *stallGuard) stop() {
	g.timer.Stop()
	g.cancel(nil)
}

// meter passes the bytes of a transfer through, counts them, tells
// progress and pokes the stall guard. The HTTP transport may read a request
// body from its own goroutine even after the request has returned: close
// makes later reads fail, so that progress is never called after that.
type meter struct {
	mu       sync.Mutex
	r        io.Reader
	done     int64
	total    int64
	progress func(done, total int64)
	guard    *stallGuard
	closed   bool
	sum      *fileSum    // hashes what is read, when not nil
	trailer  http.Header // gets sum's Repr-Digest at the end
}

func (m *meter) Read(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, io.ErrClosedPipe
	}
	n, err := m.r.Read(p)
	if n > 0 {
		if m.sum != nil {
			m.sum.sent(m.done, p[:n])
		}
		m.done += int64(n)
		m.guard.poke()
		if m.progress != nil {
			m.progress(m.done, m.total)
		}
	}
	if err == io.EOF {
		if m.trailer != nil {
			m.trailer.Set("Repr-Digest", m.sum.reprDigest())
		}
		// All sent: waiting for the reply is the header timeout's job,
		// as the server verifies and syncs the file.
		m.guard.pause()
	}
	return n, err
}

// WriteTo sends what Read gives in reads of defaultTransferBuffer bytes.
// The transport copies a chunked request body with WriteTo when the body
// has it, and with a 32 KiB buffer when not, so an upload went as 32 KiB
// chunks: a read, a hash call and a chunk per 32 KiB here, and a read, a
// write and a hand-over to the hash per chunk on the server.
func (m *meter) WriteTo(w io.Writer) (int64, error) {
	buf := make([]byte, defaultTransferBuffer)
	var sent int64
	for {
		n, err := io.ReadFull(m, buf)
		if n > 0 {
			k, werr := w.Write(buf[:n])
			sent += int64(k)
			if werr != nil {
				return sent, werr
			}
		}
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			return sent, nil
		case err != nil:
			return sent, err
		}
	}
}

func (m *meter) close() {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// backoff is the wait before retry n (1, 2, …) of a transfer.
func backoff(n int) time.Duration {
	return min(100*time.Millisecond<<n, 5*time.Second)
}
