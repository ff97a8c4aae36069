package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// sumsFile, in the home directory, remembers the SHA-256 of files this
// user sent. A first `file send` of a file hashes it as it goes and gives
// the sum after the last byte; a second one (to someone else, or the same
// file again) finds the sum here and declares it in file.upload, which
// makes the server know it for the file it stored a moment ago. An
// upload interrupted before its end remembers nothing: the next run
// resumes it without a sum, as it began.
const sumsFile = "sums.json"

// maxSums is how many files' sums are kept; the least lately used go.
const maxSums = 100

// fileSum is a remembered sum and the identity of the file it was computed
// for: its absolute path, size, modification and change times, device and
// inode. A write to the file changes its change time, which no one can
// set back, so a file whose identity matches has the content that was
// hashed. Where the system gives no change time or inode (Windows), no sum
// is remembered.
type fileSum struct {
	fileIdentity
	SHA256 string    `json:"sha256"`
	Used   time.Time `json:"used"`
}

type fileIdentity struct {
	Path  string `json:"path"`
	Size  int64  `json:"size"`
	MTime int64  `json:"mtime_ns"`
	CTime int64  `json:"ctime_ns"`
	Dev   uint64 `json:"dev"`
	Inode uint64 `json:"inode"`
}

// identify returns the identity of the regular file at path, false when
// the system cannot tell it.
func identify(path string) (fileIdentity, bool) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fileIdentity{}, false
	}
	st, err := os.Stat(abs)
	if err != nil || !st.Mode().IsRegular() {
		return fileIdentity{}, false
	}
	id, ok := statIdentity(st)
	id.Path, id.Size, id.MTime = abs, st.Size(), st.ModTime().UnixNano()
	return id, ok
}

// knownSum returns the remembered sum of the file at path when its
// identity has not changed since, else "", and the file's identity now
// (zero when the system cannot tell it), for learnSum.
func (a *app) knownSum(path string) (string, fileIdentity) {
	id, ok := identify(path)
	if !ok {
		return "", fileIdentity{}
	}
	sum, _ := a.lookupSum(id)
	return sum, id
}

// learnSum remembers sum, computed as the file at path was sent (by the
// client and checked by the server), if the file's identity is still id,
// which it had before its first byte was read. A failure to write the sums
// file only costs the next run its sum.
func (a *app) learnSum(path string, id fileIdentity, sum string) {
	if after, ok := identify(path); ok && id != (fileIdentity{}) && after == id {
		a.rememberSum(id, sum)
	}
}

func (a *app) lookupSum(id fileIdentity) (string, bool) {
	for _, s := range a.loadSums() {
		if s.fileIdentity == id {
			a.rememberSum(id, s.SHA256) // used now
			return s.SHA256, true
		}
	}
	return "", false
}

// rememberSum records sum for the file with identity id, replacing what
// was remembered for its path; sum "" forgets the path.
func (a *app) rememberSum(id fileIdentity, sum string) {
	sums := slices.DeleteFunc(a.loadSums(), func(s fileSum) bool { return s.Path == id.Path })
	if sum != "" {
		sums = append(sums, fileSum{fileIdentity: id, SHA256: sum, Used: time.Now().UTC()})
	}
	slices.SortFunc(sums, func(x, y fileSum) int { return y.Used.Compare(x.Used) })
	if len(sums) > maxSums {
		sums = sums[:maxSums]
	}
	_ = a.saveSums(sums)
}

// forgetSum drops what is remembered for the file at path.
func (a *app) forgetSum(path string) {
	if abs, err := filepath.Abs(path); err == nil {
		a.rememberSum(fileIdentity{Path: abs}, "")
	}
}

func (a *app) loadSums() []fileSum {
	var sums []fileSum
	if a.home != "" {
		if b, err := os.ReadFile(filepath.Join(a.home, sumsFile)); err == nil {
			_ = json.Unmarshal(b, &sums) // a damaged file is an empty one
		}
	}
	return sums
}

// saveSums replaces the sums file atomically, so that two `file send`s at
// once leave one's list or the other's.
func (a *app) saveSums(sums []fileSum) error {
	if a.home == "" {
		return errors.New("no home directory")
	}
	b, err := json.Marshal(sums)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(a.home, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(a.home, ".sums-*.json") // created 0600
	if err != nil {
		return err
	}
	_, werr := f.Write(b)
	if err := errors.Join(werr, f.Close()); err != nil {
		_ = os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), filepath.Join(a.home, sumsFile)); err != nil {
		_ = os.Remove(f.Name())
		return err
	}
	return nil
}
