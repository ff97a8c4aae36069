package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
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
// same run and interleaved.
//
// A Huddle transfer is timed as the caller of the client library waits for
// it, so the upload includes the client's hashing as the bytes go (the sum
// follows the last byte) and the server's verification, fsync, rename and
// record after the last; the download includes the client's hashing, fsync
// and rename. The bench's own SHA-256 pass over the file (to check the
// copies) is timed on its own, for reference, and the progress callbacks
// split each transfer into before, while and after the bytes move, so
// that the reader sees where the time goes. With --known-sum the upload
// declares the sum in file.upload instead (UploadFileSum), as `huddle file
// send` does for a file it sent before.
//
// The transfers repeat --reps times, each time with new content (the first
// 4 KiB of the file rewritten; with --file, the same content under a new
// name), after one untimed repetition with --warmup. A repetition is the
// baseline's upload and Huddle's, then the baseline's download and
// Huddle's, the baseline first in even repetitions and Huddle first in odd
// ones, so that neither always lands on the memory the other just freed;
// the copies are checked and deleted before the next. Each direction
// reports the repetition with the median ratio; every one is listed.
//
// ops are the Huddle transfers; the rate is MiB/s over them. While each
// transfer runs the server's RSS is read every rssEvery: it must not grow
// with the file's size.
func fileFlags(fs *flag.FlagSet) runFunc {
	size := byteSize(1 << 30)
	fs.Var(&size, "size", "bytes of random content to send: a number with an optional KiB, MiB or GiB")
	path := fs.String("file", "", "send this file instead of --size random bytes")
	baseline := fs.Bool("baseline", true, "also send the file through a plain net/http server in this process")
	baselineSync := fs.Bool("baseline-sync", false, "the baseline fsyncs the files it writes inside its time, as Huddle does")
	reps := fs.Int("reps", 3, "timed repetitions of the four transfers")
	warmup := fs.Bool("warmup", true, "one untimed repetition first")
	knownSum := fs.Bool("known-sum", false, "Huddle's upload declares the file's SHA-256 in file.upload (client.UploadFileSum), as huddle file send does for a file it sent before, instead of giving it after the last byte")
	serverPID := serverPIDFlag(fs)
	return func(ctx context.Context, g globals, progress io.Writer) (result, error) {
		if (*path == "" && size <= 0) || *reps < 1 {
			return result{}, usagef("--size and --reps must be positive")
		}
		srv, err := findServer(g.server, *serverPID, progress) // before a 1 GiB file is written
		if err != nil {
			return result{}, err
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

		accts, err := newAccounts(ctx, g.server, 2, true, progress)
		if err != nil {
			return result{}, err
		}
		conns, err := openAll(ctx, g.server, 2, accts)
		defer closeAll(conns)
		if err != nil {
			return result{}, err
		}
		b := &fileBench{dir: dir, src: src, generated: *path == "", size: n, srv: srv, conns: conns, to: accts[1].name,
			knownSum: *knownSum, progress: progress}
		if *baseline {
			if b.base, err = startBaseline(dir, *baselineSync); err != nil {
				return result{}, err
			}
			defer b.base.close()
		}

		res := result{Scenario: "file", Conns: 2, Unit: "MiB/s", ServerPID: srv.pid, FileBytes: n}
		res.RSSStartBytes = srv.rss()
		var timed []*fileRun
		for i := range *reps + btoi(*warmup) {
			run, err := b.rep(ctx, i, *warmup && i == 0)
			if err != nil {
				return result{}, err
			}
			res.FileRuns = append(res.FileRuns, run)
			if !run.Warmup {
				timed = append(timed, &res.FileRuns[len(res.FileRuns)-1])
			}
		}
		up := medianRun(timed, func(r *fileRun) *fileTransfer { return &r.Upload })
		res.Upload, res.Download = &up.Upload, &medianRun(timed, func(r *fileRun) *fileTransfer { return &r.Download }).Download
		res.SHA256Seconds, res.SHA256MiBPerSec = up.SHA256Seconds, mibPerSec(n, time.Duration(up.SHA256Seconds*float64(time.Second)))
		for _, r := range timed {
			res.Ops += 2
			res.Seconds += r.Upload.Seconds + r.Download.Seconds
		}
		res.OpsPerSec = mibPerSec(res.Ops*n, time.Duration(res.Seconds*float64(time.Second)))
		return res, nil
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// fileBench is what the file scenario's repetitions share.
type fileBench struct {
	dir       string
	src       string
	generated bool // src is the bench's: each repetition may change it
	size      int64
	srv       serverProc
	conns     []*client.Client
	to        string
	base      *baselineServer // nil: no baseline
	knownSum  bool            // Huddle's upload is given the sum
	progress  io.Writer
}

// fileRun is one repetition of the file scenario.
type fileRun struct {
	Warmup      bool         `json:"warmup,omitempty"`
	HuddleFirst bool         `json:"huddle_first,omitempty"`
	KnownSum    bool         `json:"known_sum,omitempty"` // the upload declared the sum in file.upload
	Upload      fileTransfer `json:"upload"`
	Download    fileTransfer `json:"download"`
	// The bench's pass with client.HashFile over the file before this
	// repetition, to check the copies (no transfer waits for it).
	SHA256Seconds float64 `json:"client_sha256_s"`
}

// rep runs repetition i: new content, its sum, both uploads, both
// downloads, the checks.
func (b *fileBench) rep(ctx context.Context, i int, warmup bool) (fileRun, error) {
	run := fileRun{Warmup: warmup, HuddleFirst: i%2 == 1, KnownSum: b.knownSum}
	src, err := b.fresh(i)
	if err != nil {
		return run, err
	}
	start := time.Now()
	sum, _, err := client.HashFile(ctx, src)
	if err != nil {
		return run, err
	}
	run.SHA256Seconds = time.Since(start).Seconds()
	what := fmt.Sprintf("repetition %d", i)
	if warmup {
		what = "warm-up"
	}
	copies := map[string]string{} // path → what it is a copy of, to check
	defer func() {
		for path := range copies {
			if b.base == nil || path != b.base.stored(i) { // it stays until the run ends (baselineServer)
				_ = os.Remove(path)
			}
		}
	}()

	var id string
	huddleUp := func() error {
		progressf(b.progress, "%s: Huddle upload of %s", what, formatBytes(b.size))
		p := &phases{}
		var gotSum string
		u, err := watch(b.srv, func() error {
			known := ""
			if b.knownSum {
				known = sum
			}
			info, err := b.conns[0].UploadFileSum(ctx, client.UserChat(b.to), src, known, p.progress)
			id, gotSum = info.File, info.SHA256
			return err
		})
		if err != nil {
			return fmt.Errorf("upload: %w", err)
		}
		if gotSum != sum {
			return fmt.Errorf("upload: the server stored sha256 %s, the file has %s", gotSum, sum)
		}
		run.Upload.huddle(b.size, u, p)
		return nil
	}
	baseUp := func() error {
		progressf(b.progress, "%s: baseline upload", what)
		u, err := watch(b.srv, func() error { return b.base.upload(ctx, i, src, b.size) })
		if err == nil {
			err = settle(b.base.stored(i))
		}
		if err != nil {
			return fmt.Errorf("baseline upload: %w", err)
		}
		run.Upload.baseline(b.size, u)
		copies[b.base.stored(i)] = "the baseline's upload"
		return nil
	}
	huddleDown := func() error {
		progressf(b.progress, "%s: Huddle download", what)
		dst := filepath.Join(b.dir, "download.bin")
		p := &phases{}
		u, err := watch(b.srv, func() error {
			_, err := b.conns[1].DownloadFile(ctx, id, dst, p.progress)
			return err
		})
		if err != nil {
			return fmt.Errorf("download: %w", err)
		}
		run.Download.huddle(b.size, u, p)
		copies[dst] = "the download"
		return nil
	}
	baseDown := func() error {
		progressf(b.progress, "%s: baseline download", what)
		dst := filepath.Join(b.dir, "baseline-download.bin")
		u, err := watch(b.srv, func() error { return b.base.download(ctx, i, dst) })
		if err == nil {
			err = settle(dst)
		}
		if err != nil {
			return fmt.Errorf("baseline download: %w", err)
		}
		run.Download.baseline(b.size, u)
		copies[dst] = "the baseline's download"
		return nil
	}
	steps := []func() error{huddleUp, huddleDown}
	if b.base != nil {
		steps = []func() error{baseUp, huddleUp, baseDown, huddleDown}
		if run.HuddleFirst {
			steps = []func() error{huddleUp, baseUp, huddleDown, baseDown}
		}
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return run, fmt.Errorf("%s: %w", what, err)
		}
	}
	for path, what := range copies {
		if got, _, err := client.HashFile(ctx, path); err != nil || got != sum {
			return run, fmt.Errorf("%s is not the file sent (sha256 %s, %v)", what, got, err)
		}
	}
	run.Upload.ratio()
	run.Download.ratio()
	return run, nil
}

// fresh returns the file repetition i sends, with content no repetition
// sent before: the server stores identical content once, and a client that
// asks again for a file it just sent is told it is there. The bench's own
// file gets new random bytes at its start, in place (its other pages stay
// in the page cache, as they were); a --file, which is not the bench's to
// change, gets a new name (a symbolic link) and keeps its content.
func (b *fileBench) fresh(i int) (string, error) {
	if !b.generated {
		link := filepath.Join(b.dir, fmt.Sprintf("r%d-%s", i, filepath.Base(b.src)))
		return link, os.Symlink(b.src, link)
	}
	if i == 0 {
		return b.src, nil // written just now
	}
	head := make([]byte, min(b.size, 4<<10))
	_, _ = rand.Read(head) // never fails
	f, err := os.OpenFile(b.src, os.O_WRONLY, 0)
	if err != nil {
		return "", err
	}
	_, err = f.WriteAt(head, 0)
	if err == nil {
		err = f.Sync()
	}
	return b.src, errors.Join(err, f.Close())
}

// medianRun returns the run whose transfer in one direction has the
// median ratio to the baseline (the lower middle one of an even count),
// or the median Huddle rate without a baseline.
func medianRun(runs []*fileRun, dir func(*fileRun) *fileTransfer) *fileRun {
	sorted := slices.Clone(runs)
	slices.SortFunc(sorted, func(a, b *fileRun) int {
		x, y := dir(a), dir(b)
		return cmp.Or(cmp.Compare(x.Ratio, y.Ratio), cmp.Compare(x.MiBPerSec, y.MiBPerSec))
	})
	return sorted[(len(sorted)-1)/2]
}

// fileRunRows adds a row per repetition.
func fileRunRows(row func(k, v string), runs []fileRun) {
	for i, r := range runs {
		k := fmt.Sprintf("repetition %d", i)
		if r.Warmup {
			k = "warm-up"
		}
		first := "baseline first"
		if r.HuddleFirst {
			first = "Huddle first"
		}
		if r.KnownSum {
			first += ", upload given the sum"
		}
		row(k, fmt.Sprintf("%s; SHA-256 %.2f s; upload %.1f / %.1f MiB/s (%.2f), phases %.2f/%.2f/%.2f s; download %.1f / %.1f MiB/s (%.2f), phases %.2f/%.2f/%.2f s",
			first, r.SHA256Seconds,
			r.Upload.MiBPerSec, r.Upload.BaselineMiBPerSec, r.Upload.Ratio, r.Upload.StartSeconds, r.Upload.BytesSeconds, r.Upload.FinishSeconds,
			r.Download.MiBPerSec, r.Download.BaselineMiBPerSec, r.Download.Ratio, r.Download.StartSeconds, r.Download.BytesSeconds, r.Download.FinishSeconds))
	}
}

// fileTransfer is one direction of the file scenario: Huddle's transfer,
// the baseline's, and what each cost.
type fileTransfer struct {
	MiBPerSec float64 `json:"mib_per_sec"`
	Seconds   float64 `json:"duration_s"`
	// Huddle's transfer split by its progress callbacks: before the first
	// byte moves (file.upload; file.download),
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
