package record

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"huddle/internal/dirsync"
	"huddle/media"
	"huddle/protocol"
)

// Member is the member name the recorder subscribes as; no user can have
// it (user names are [a-z0-9_.-]). The relay forwards every member's
// packets to it, since it is none of them.
const Member = "@recorder"

// Unknown is the member a file names when its source was unregistered
// before the recorder read its first packet.
const Unknown = "@unknown"

// DefaultMaxFiles is Config.MaxFiles when it is 0.
const DefaultMaxFiles = 64

const (
	// conn is the control connection the recorder subscribes as: 0 is
	// never a real one, so no client's DropConn takes its subscriptions.
	conn = 0
	// drainFor is how long Stop goes on reading after it unsubscribed, for
	// what the relay had sent before.
	drainFor = 50 * time.Millisecond
	// socketBuffer is the receive buffer asked for each track's socket, so
	// that a burst (a key frame) waits there rather than being dropped.
	socketBuffer = 1 << 20
)

// Config configures a Recorder.
type Config struct {
	Dir      string     // the recording's directory; Start creates it (its parent must exist, it must not)
	IP       netip.Addr // where its sockets listen: the relay's media IP (it takes packets only from the relay's RTP address)
	MaxBytes int64      // the files' total may not pass it: at the limit nothing more is written and Full is closed; 0: no limit
	MaxFiles int        // files per recording, one per source and text track; 0: DefaultMaxFiles
	Logger   *slog.Logger
}

// Track is one file of a recording.
type Track struct {
	Track    string        // one of protocol.Tracks
	File     string        // its name in Config.Dir
	From     string        // the member who sent it (Unknown: see there); "" for the text tracks, which hold everyone's
	SSRC     uint32        // its source's; 0 for the text tracks
	Packets  uint64        // RTP packets written into it (text: T.140 packets that made a cue); 0 from Describe
	Rejected uint64        // packets the container refused (malformed Opus or VP8); 0 from Describe
	Size     int64         // bytes
	SHA256   string        // of its bytes, hex
	Offset   time.Duration // where its time zero lies on the recording's timeline (its first packet for Ogg and IVF; 0 for WebVTT, whose cues are timed from the start); 0 from Describe
}

// Recorder records one meeting. Start it, Stop it.
type Recorder struct {
	m       *media.Meeting
	relay   netip.AddrPort // the only sender whose packets are kept
	cfg     Config
	log     *slog.Logger
	start   time.Time
	tracks  [media.Tracks]*track
	budget  budget
	files   atomic.Int64 // files created, against MaxFiles
	tooMany atomic.Bool  // the refusal of a file past MaxFiles was logged
	drain   atomic.Int64 // when Stop's drain ends (Unix ns); 0 while recording
	wg      sync.WaitGroup

	stopOnce sync.Once
	result   []Track
	err      error
}

// Start creates cfg.Dir, opens a UDP socket per track on cfg.IP and
// subscribes each to its track of m, as Member on connection 0. Nothing
// is written before a packet arrives: a track nobody sends leaves no
// file.
func Start(m *media.Meeting, cfg Config) (*Recorder, error) {
	switch {
	case m == nil:
		return nil, errors.New("record: no meeting")
	case cfg.Dir == "":
		return nil, errors.New("record: no directory")
	case !cfg.IP.IsValid():
		return nil, errors.New("record: no IP to listen on")
	case cfg.MaxBytes < 0 || cfg.MaxFiles < 0:
		return nil, fmt.Errorf("record: max bytes %d and max files %d must not be negative", cfg.MaxBytes, cfg.MaxFiles)
	}
	cfg.IP = cfg.IP.Unmap()
	if cfg.MaxFiles == 0 {
		cfg.MaxFiles = DefaultMaxFiles
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := os.Mkdir(cfg.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	r := &Recorder{m: m, relay: m.RelayAddr(), cfg: cfg, log: cfg.Logger.With("dir", cfg.Dir), start: time.Now()}
	r.budget = budget{max: cfg.MaxBytes, log: r.log, full: make(chan struct{})}
	for i := range r.tracks {
		t, err := r.listen(i)
		if err == nil {
			r.tracks[i] = t
			err = m.Subscribe(media.Subscriber{Member: Member, Conn: conn, Track: i, Addr: t.addr})
		}
		if err != nil {
			return nil, errors.Join(fmt.Errorf("record: %s track: %w", protocol.Tracks[i], err), r.abort())
		}
	}
	for _, t := range r.tracks {
		r.wg.Add(1)
		go t.run()
	}
	r.log.Info("recording started", "max_bytes", cfg.MaxBytes)
	return r, nil
}

func (r *Recorder) listen(i int) (*track, error) {
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(r.cfg.IP, 0)))
	if err != nil {
		return nil, err
	}
	_ = c.SetReadBuffer(socketBuffer) // the kernel may give less: a smaller buffer still works
	return newTrack(r, i, c), nil
}

// abort undoes a Start that failed half-way.
func (r *Recorder) abort() error {
	for i, t := range r.tracks {
		if t != nil {
			r.m.Unsubscribe(conn, i, t.addr)
			_ = t.conn.Close()
		}
	}
	return os.Remove(r.cfg.Dir)
}

// Full is closed when the files reached Config.MaxBytes: the recorder
// writes nothing more, and its owner should Stop it.
func (r *Recorder) Full() <-chan struct{} { return r.budget.full }

// Stop unsubscribes, reads for drainFor what the relay had sent before,
// stops and waits for its goroutines, finishes the files (Ogg end of
// stream, IVF frame count, the last cue of each WebVTT file), syncs them
// and the directory, and returns the files, sorted by track (in the order
// of protocol.Tracks) then name. It reads every file once to hash it, so
// it takes time in proportion to the recording's size. An error (a file
// that could not be written or finished) comes with the files all the
// same. Later calls return what the first did.
func (r *Recorder) Stop() ([]Track, error) {
	r.stopOnce.Do(r.stop)
	return slices.Clone(r.result), r.err
}

func (r *Recorder) stop() {
	for i, t := range r.tracks {
		r.m.Unsubscribe(conn, i, t.addr) // false once the meeting closed: nothing to undo
	}
	until := time.Now().Add(drainFor)
	r.drain.Store(until.UnixNano())
	for _, t := range r.tracks {
		_ = t.conn.SetReadDeadline(until)
	}
	r.wg.Wait()
	end := time.Since(r.start)
	var errs []error
	r.result = []Track{}
	for _, t := range r.tracks {
		_ = t.conn.Close() // a UDP socket has nothing left to say at close
		for _, s := range t.all() {
			if s.err != nil {
				errs = append(errs, s.err)
			}
			if s.media == nil && s.cues == nil {
				continue
			}
			if err := s.close(end); err != nil {
				errs = append(errs, err)
			}
			path := filepath.Join(r.cfg.Dir, s.File)
			size, sum, err := digest(path)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			s.Size, s.SHA256 = size, sum
			r.result = append(r.result, s.Track)
		}
	}
	if err := dirsync.Sync(r.cfg.Dir); err != nil {
		errs = append(errs, err)
	}
	if err := dirsync.Sync(filepath.Dir(r.cfg.Dir)); err != nil {
		errs = append(errs, err)
	}
	sortTracks(r.result)
	r.err = errors.Join(errs...)
	r.log.Info("recording stopped", "files", len(r.result), "bytes", r.budget.taken()) // its owner logs r.err
}

// takeFile counts a new file against MaxFiles; false when there is no
// room (logged once).
func (r *Recorder) takeFile() bool {
	if r.files.Add(1) <= int64(r.cfg.MaxFiles) {
		return true
	}
	r.files.Add(-1)
	if r.tooMany.CompareAndSwap(false, true) {
		r.log.Warn("recording: no more files; new sources are not recorded", "max_files", r.cfg.MaxFiles)
	}
	return false
}

// budget is Config.MaxBytes, shared by the files of every track.
type budget struct {
	max  int64 // 0: no limit
	log  *slog.Logger
	full chan struct{}

	mu   sync.Mutex
	used int64
	over bool
}

// Take counts n more bytes if they fit. Once something did not fit,
// nothing does: the recording ends at the limit rather than going on
// with whatever small packets still would.
func (b *budget) Take(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.over {
		return false
	}
	if b.max > 0 && b.used+n > b.max {
		b.over = true
		close(b.full)
		b.log.Warn("recording: size limit reached; nothing more is written", "max_bytes", b.max, "bytes", b.used)
		return false
	}
	b.used += n
	return true
}

func (b *budget) taken() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}
