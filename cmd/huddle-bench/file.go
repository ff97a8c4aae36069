package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"huddle/client"
)

// fileFlags: one user uploads a file to another with client.UploadFile,
// who downloads it with client.DownloadFile, and the bench checks the bytes
// that arrive. With --baseline the same file also goes up and down through a
// plain net/http server in the bench's own process (baseline.go), in the
// same run and interleaved: baseline upload, Huddle upload, baseline
// download, Huddle download.
//
// A Huddle transfer is timed as the caller of the client library waits for
// it, so the upload includes the SHA-256 pass over the file that UploadFile
// makes before the first byte goes, and the server's verification, fsync,
// rename and record after the last; the download includes the client's
// hashing, fsync and rename. The SHA-256 pass is also timed on its own, and
// the progress callbacks split each transfer into before, while and after
// the bytes move, so that the reader sees where the time goes.
//
// ops are the two Huddle transfers; the rate is MiB/s over both. While each
// transfer runs the server's RSS is read every rssEvery: it must not grow
// with the file's size.
func fileFlags(fs *flag.FlagSet) runFunc {
	size := byteSize(1 << 30)
	fs.Var(&size, "size", "bytes of random content to send: a number with an optional KiB, MiB or GiB")
	path := fs.String("file", "", "send this file instead of --size random bytes")
	baseline := fs.Bool("baseline", true, "also send the file through a plain net/http server in this process")
	serverPID := serverPIDFlag(fs)
	return func(ctx context.Context, g globals, progress io.Writer) (result, error) {
		if (*path == "" && size <= 0) || *serverPID < 0 {
			return result{}, usagef("--size must be positive, --server-pid not negative")
		}
		dir, err := os.MkdirTemp("", "huddle-bench-file-")
		if err != nil {
			return result{}, err
		}
		defer os.RemoveAll(dir)
		src := *path
		if src == "" {
			src = filepath.Join(dir, "huddle-bench.bin")
			progressf(progress, "writing %s of random bytes to %s", size, src)
			if err := writeRandom(ctx, src, int64(size)); err != nil {
				return result{}, err
			}
		}
		st, err := os.Stat(src)
		if err != nil {
			return result{}, err
		}
		n := st.Size()

		srv := findServer(g.server, *serverPID, progress)
		accts, err := newAccounts(ctx, g.server, 2, true, progress)
		if err != nil {
			return result{}, err
		}
		conns, err := openAll(ctx, g.server, 2, accts)
		defer closeAll(conns)
		if err != nil {
			return result{}, err
		}

		res := result{Scenario: "file", Conns: 2, Unit: "MiB/s", ServerPID: srv.pid, FileBytes: n,
			Upload: &fileTransfer{}, Download: &fileTransfer{}}
		// The pass UploadFile makes before it sends anything, alone; its sum
		// checks every copy that arrives.
		start := time.Now()
		sum, err := hashFile(ctx, src)
		if err != nil {
			return result{}, err
		}
		res.SHA256Seconds = time.Since(start).Seconds()
		res.SHA256MiBPerSec = mibPerSec(n, time.Since(start))

		var base *baselineServer
		if *baseline {
			if base, err = startBaseline(dir); err != nil {
				return result{}, err
			}
			defer base.close()
		}
		copies := map[string]string{} // path → what it is a copy of, to check
		res.RSSStartBytes = srv.rss()

		if base != nil {
			progressf(progress, "baseline upload")
			u, err := watch(srv, func() error { return base.upload(ctx, src, n) })
			if err == nil {
				err = settle(base.stored)
			}
			if err != nil {
				return result{}, fmt.Errorf("baseline upload: %w", err)
			}
			res.Upload.baseline(n, u)
			copies[base.stored] = "the baseline's upload"
		}

		progressf(progress, "Huddle upload of %s", formatBytes(n))
		var id, gotSum string
		p := &phases{}
		u, err := watch(srv, func() error {
			info, err := conns[0].UploadFile(ctx, client.UserChat(accts[1].name), src, p.progress)
			id, gotSum = info.File, info.SHA256
			return err
		})
		if err != nil {
			return result{}, fmt.Errorf("upload: %w", err)
		}
		if gotSum != sum {
			return result{}, fmt.Errorf("upload: the server stored sha256 %s, the file has %s", gotSum, sum)
		}
		res.Upload.huddle(n, u, p)

		if base != nil {
			progressf(progress, "baseline download")
			dst := filepath.Join(dir, "baseline-download.bin")
			u, err := watch(srv, func() error { return base.download(ctx, dst) })
			if err == nil {
				err = settle(dst)
			}
			if err != nil {
				return result{}, fmt.Errorf("baseline download: %w", err)
			}
			res.Download.baseline(n, u)
			copies[dst] = "the baseline's download"
		}

		progressf(progress, "Huddle download")
		dst := filepath.Join(dir, "download.bin")
		p = &phases{}
		u, err = watch(srv, func() error {
			_, err := conns[1].DownloadFile(ctx, id, dst, p.progress)
			return err
		})
		if err != nil {
			return result{}, fmt.Errorf("download: %w", err)
		}
		res.Download.huddle(n, u, p)
		copies[dst] = "the download"

		for path, what := range copies {
			if got, err := hashFile(ctx, path); err != nil || got != sum {
				return result{}, fmt.Errorf("%s is not the file sent (sha256 %s, %v)", what, got, err)
			}
		}
		res.Upload.ratio()
		res.Download.ratio()
		res.Ops = 2
		res.Seconds = res.Upload.Seconds + res.Download.Seconds
		res.OpsPerSec = mibPerSec(2*n, time.Duration(res.Seconds*float64(time.Second)))
		return res, nil
	}
}

// fileTransfer is one direction of the file scenario: Huddle's transfer,
// the baseline's, and what each cost.
type fileTransfer struct {
	MiBPerSec float64 `json:"mib_per_sec"`
	Seconds   float64 `json:"duration_s"`
	// Huddle's transfer split by its progress callbacks: before the first
	// byte moves (the upload's SHA-256 pass and file.upload; file.download),
	// while bytes move, and after the last (the server's verification,
	// fsync, rename and record; the client's fsync and rename).
	StartSeconds   float64 `json:"start_s"`
	BytesSeconds   float64 `json:"bytes_s"`
	FinishSeconds  float64 `json:"finish_s"`
	BytesMiBPerSec float64 `json:"bytes_mib_per_sec"`
	// The server's RSS while the transfer ran, read every rssEvery, and
	// the CPU time of the server and of the bench.
	ServerRSSMin     int64   `json:"server_rss_min_bytes,omitempty"`
	ServerRSSMax     int64   `json:"server_rss_max_bytes,omitempty"`
	RSSSamples       int     `json:"rss_samples,omitempty"`
	ServerCPUSeconds float64 `json:"server_cpu_s,omitempty"`
	BenchCPUSeconds  float64 `json:"bench_cpu_s,omitempty"`

	// The baseline's transfer; its client and server are both the bench's.
	BaselineMiBPerSec  float64 `json:"baseline_mib_per_sec,omitempty"`
	BaselineSeconds    float64 `json:"baseline_duration_s,omitempty"`
	BaselineCPUSeconds float64 `json:"baseline_cpu_s,omitempty"`
	// Huddle's MiB/s over the baseline's: the whole transfer's, and the
	// rate while bytes move.
	Ratio      float64 `json:"ratio,omitempty"`
	BytesRatio float64 `json:"bytes_ratio,omitempty"`
}

func (t *fileTransfer) huddle(size int64, u usage, p *phases) {
	d := u.end.Sub(u.start)
	t.Seconds, t.MiBPerSec = d.Seconds(), mibPerSec(size, d)
	if first, last := p.times(); !first.IsZero() && !last.IsZero() {
		t.StartSeconds = first.Sub(u.start).Seconds()
		t.BytesSeconds = last.Sub(first).Seconds()
		t.FinishSeconds = u.end.Sub(last).Seconds()
		t.BytesMiBPerSec = mibPerSec(size, last.Sub(first))
	}
	t.ServerRSSMin, t.ServerRSSMax, t.RSSSamples = u.rssMin, u.rssMax, u.samples
	t.ServerCPUSeconds, t.BenchCPUSeconds = u.serverCPU.Seconds(), u.benchCPU.Seconds()
}

func (t *fileTransfer) baseline(size int64, u usage) {
	d := u.end.Sub(u.start)
	t.BaselineSeconds, t.BaselineMiBPerSec = d.Seconds(), mibPerSec(size, d)
	t.BaselineCPUSeconds = u.benchCPU.Seconds()
}

func (t *fileTransfer) ratio() {
	if t.BaselineMiBPerSec > 0 {
		t.Ratio = t.MiBPerSec / t.BaselineMiBPerSec
		t.BytesRatio = t.BytesMiBPerSec / t.BaselineMiBPerSec
	}
}

// rows adds the table rows of one direction.
func (t *fileTransfer) rows(row func(k, v string), dir string) {
	s := fmt.Sprintf("%.1f MiB/s in %.2f s", t.MiBPerSec, t.Seconds)
	if t.BaselineMiBPerSec > 0 {
		s += fmt.Sprintf("; baseline %.1f MiB/s in %.2f s; ratio %.2f", t.BaselineMiBPerSec, t.BaselineSeconds, t.Ratio)
	}
	row(dir, s)
	row(dir+" phases", fmt.Sprintf("%.2f s before the first byte, %.2f s moving bytes (%.1f MiB/s), %.2f s after the last",
		t.StartSeconds, t.BytesSeconds, t.BytesMiBPerSec, t.FinishSeconds))
	if t.RSSSamples > 0 {
		row(dir+" server RSS", fmt.Sprintf("%s to %s (%d readings)", mib(t.ServerRSSMin), mib(t.ServerRSSMax), t.RSSSamples))
	}
	s = fmt.Sprintf("server %.2f s, bench %.2f s", t.ServerCPUSeconds, t.BenchCPUSeconds)
	if t.BaselineMiBPerSec > 0 {
		s += fmt.Sprintf("; baseline %.2f s (client and server)", t.BaselineCPUSeconds)
	}
	row(dir+" CPU", s)
}

func mibPerSec(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / (1 << 20) / d.Seconds()
}

// rssEvery is how often the server's RSS is read during a transfer.
const rssEvery = 100 * time.Millisecond

// usage is what one transfer cost: when it ran, the server's RSS as read
// every rssEvery meanwhile (and right before and after), and the CPU time
// the server and the bench used.
type usage struct {
	start, end          time.Time
	rssMin, rssMax      int64
	samples             int
	serverCPU, benchCPU time.Duration
}

// watch runs transfer and measures it.
func watch(srv serverProc, transfer func() error) (usage, error) {
	var u usage
	sample := func() {
		if n := srv.rss(); n > 0 {
			if u.samples == 0 || n < u.rssMin {
				u.rssMin = n
			}
			u.rssMax = max(u.rssMax, n)
			u.samples++
		}
	}
	serverCPU, benchCPU := srv.cpu(), selfCPU()
	sample()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(rssEvery)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				sample()
			}
		}
	})
	u.start = time.Now()
	err := transfer()
	u.end = time.Now()
	close(done)
	wg.Wait()
	sample()
	u.serverCPU, u.benchCPU = srv.cpu()-serverCPU, selfCPU()-benchCPU
	return u, err
}

func selfCPU() time.Duration {
	d, _ := readCPU("self") // 0 where there is no /proc
	return d
}

// phases records, from a transfer's progress callbacks, when its first
// byte was about to move (the first call) and when its last had (done ==
// total). A transfer that is retried keeps its first attempt's start.
type phases struct {
	mu          sync.Mutex
	first, last time.Time
}

func (p *phases) progress(done, total int64) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.first.IsZero() {
		p.first = now
	}
	if done == total && p.last.IsZero() {
		p.last = now
	}
}

func (p *phases) times() (first, last time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.first, p.last
}

// writeRandom writes size random bytes to path and syncs them, so that
// their write-back does not run under the transfers.
func writeRandom(ctx context.Context, path string, size int64) error {
	var seed [32]byte
	_, _ = rand.Read(seed[:]) // crypto/rand.Read never fails
	// ChaCha8 is a fast source: crypto/rand would take longer than the
	// transfers it feeds, and content only has to differ from run to run
	// (the server stores identical content once).
	r := mrand.NewChaCha8(seed)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for left := size; left > 0 && err == nil; left -= int64(len(buf)) {
		if err = ctx.Err(); err == nil {
			b := buf[:min(left, int64(len(buf)))]
			_, _ = r.Read(b) // never fails
			_, err = f.Write(b)
		}
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// hashFile returns the hex SHA-256 of the file at path, read the way
// client.UploadFile reads it.
func hashFile(ctx context.Context, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, ctxReader{ctx, f}); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ctxReader ends a long read when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

// byteSize is a flag of bytes with an optional binary suffix: 4096, 512KiB,
// 256MiB, 1GiB.
type byteSize int64

var byteSuffixes = []struct {
	suffix string
	shift  uint
}{{"GiB", 30}, {"MiB", 20}, {"KiB", 10}, {"B", 0}}

func (b *byteSize) Set(s string) error {
	num, shift := s, uint(0)
	for _, u := range byteSuffixes {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			num, shift = strings.TrimSpace(n), u.shift
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > (1<<62)>>shift {
		return fmt.Errorf("%q is not a size in bytes (a number, optionally with KiB, MiB or GiB)", s)
	}
	*b = byteSize(n << shift)
	return nil
}

func (b byteSize) String() string { return formatBytes(int64(b)) }

// formatBytes names n in the largest binary unit that divides it.
func formatBytes(n int64) string {
	for _, u := range byteSuffixes {
		if n != 0 && n%(1<<u.shift) == 0 {
			return strconv.FormatInt(n>>u.shift, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}
