package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"huddle/client"
	"huddle/protocol"
)

func fileCommands() []command {
	return []command{
		{"file send", "NAME|--group GROUP PATH", "send a file to NAME or a group (a second run resumes an interrupted upload)", cmdFileSend},
		{"file list", "[--limit N] [--before ID]", "list the files sent to you, by you and to your groups, newest first", cmdFileList},
		{"file get", "ID [-o PATH]", "download a file, resuming PATH.part, and verify its SHA-256", cmdFileGet},
	}
}

func cmdFileSend(ctx context.Context, a *app, cl *cmdLine) error {
	group := cl.fs.String("group", "", "send to GROUP instead of a user")
	args, err := cl.parse(1, 2)
	if err != nil {
		return err
	}
	var to protocol.Conversation
	switch {
	case *group != "" && len(args) == 1:
		to = client.GroupChat(*group)
	case *group == "" && len(args) == 2:
		to, args = client.UserChat(args[0]), args[1:]
	case *group != "":
		return cl.usageErrorf("give NAME or --group GROUP, not both")
	default:
		return cl.usageErrorf("missing argument")
	}
	path := args[0]
	switch st, err := os.Stat(path); {
	case err != nil:
		return cl.usageErrorf("cannot read %s: %v", path, errors.Unwrap(err))
	case !st.Mode().IsRegular():
		return cl.usageErrorf("%s is not a regular file", path)
	}
	name := filepath.Base(path)
	var bad *protocol.Error
	if errors.As(protocol.CheckFileName(name), &bad) {
		return cl.usageErrorf("cannot send a file called %q: %s", name, bad.Message)
	}
	return a.withTransfer(ctx, func(ctx context.Context, c *client.Client) error {
		info, err := a.sendFile(ctx, c, to, path, name)
		if err != nil {
			return err
		}
		return a.print(info, "sent %s (%s) to %s as file %s", name, size(info.Size), chatLabel(to.User, to.Group), info.File)
	})
}

// sendFile uploads the file at path, declaring its SHA-256 when one is
// remembered from an earlier run (see sumsFile), else giving it after the
// last byte and remembering it. A remembered sum that the server finds
// wrong is forgotten, and the upload made again without it.
func (a *app) sendFile(ctx context.Context, c *client.Client, to protocol.Conversation, path, name string) (protocol.FileInfo, error) {
	for {
		sum, id := a.knownSum(path)
		p := a.newProgress("upload", name)
		info, err := c.UploadFileSum(ctx, to, path, sum, p.update)
		p.finish()
		if err != nil && sum != "" && protocol.CodeOf(err) == protocol.CodeBadRequest {
			a.forgetSum(path)
			continue
		}
		if err == nil && sum == "" {
			a.learnSum(path, id, info.SHA256)
		}
		return info, err
	}
}

func cmdFileList(ctx context.Context, a *app, cl *cmdLine) error {
	limit := cl.fs.Int("limit", 50, fmt.Sprintf("list at most N files (1-%d)", protocol.MaxFileList))
	before := cl.fs.String("before", "", "list the files older than file ID")
	if _, err := cl.parse(0, 0); err != nil {
		return err
	}
	if *limit < 1 || *limit > protocol.MaxFileList {
		return cl.usageErrorf("--limit must be 1-%d", protocol.MaxFileList)
	}
	if *before != "" && protocol.CheckFileID(*before) != nil {
		return cl.usageErrorf("--before %q is not a file id", *before)
	}
	return a.withSession(ctx, func(ctx context.Context, c *client.Client) error {
		files, err := c.FileList(ctx, protocol.FileList{Before: *before, Limit: *limit})
		if err != nil {
			return err
		}
		now := time.Now()
		return printList(a, files, "no files", func(f protocol.FileInfo) []string {
			return []string{f.File, oneLine(f.Name), f.From + " → " + chatLabel(f.To, f.Group), size(f.Size), clock(f.TS, now)}
		})
	})
}

func cmdFileGet(ctx context.Context, a *app, cl *cmdLine) error {
	out := cl.fs.String("o", "", "save to PATH, replacing it (default: the file's name in the current directory)")
	args, err := cl.parse(1, 1)
	if err != nil {
		return err
	}
	id := args[0]
	if protocol.CheckFileID(id) != nil {
		return cl.usageErrorf("%q is not a file id", id)
	}
	if *out == "-" {
		return cl.usageErrorf("-o - (standard output) is not supported: a download is resumed and verified in a file; give a path")
	}
	return a.withTransfer(ctx, func(ctx context.Context, c *client.Client) error {
		d, err := c.FileDownload(ctx, id)
		if err != nil {
			return err
		}
		path, err := savePath(*out, d.Name, d.File)
		if err != nil {
			return cl.usageErrorf("%v", err)
		}
		p := a.newProgress("download", oneLine(d.Name))
		info, err := c.SaveDownload(ctx, d, path, p.update)
		p.finish()
		if err != nil {
			return err
		}
		return a.print(struct {
			Path string `json:"path"`
			protocol.FileInfo
		}{path, info}, "saved %s (%s) to %s, sha256 %s", oneLine(info.Name), size(info.Size), path, info.SHA256)
	})
}

// savePath chooses where file get saves a file called name by its sender.
// A path given with -o is used as given, replacing what is there (its
// directory must exist); a directory given with -o, or none, gets a name
// made safe from name, and nothing there is replaced unless -o names it.
func savePath(out, name, id string) (string, error) {
	if out != "" {
		if st, err := os.Stat(out); err != nil || !st.IsDir() {
			return out, checkDir(out, filepath.Dir(out))
		}
	}
	path := filepath.Join(out, safeName(name, id))
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%s exists: name it with -o %s to replace it, or choose another path", path, path)
	}
	return path, nil
}

// checkDir reports why dir, where -o out would go, cannot hold it.
func checkDir(out, dir string) error {
	switch st, err := os.Stat(dir); {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("-o %s: no directory %s to save it in", out, dir)
	case err != nil:
		return fmt.Errorf("-o %s: %w", out, err)
	case !st.IsDir():
		return fmt.Errorf("-o %s: %s is not a directory", out, dir)
	}
	return nil
}

// safeName makes a file name of a name another user chose, which must land
// in the directory it is joined to whatever it says: its last path element,
// without control characters or the characters Windows forbids, without
// leading dots (no hidden files, no "..") or the trailing dots and spaces
// Windows drops, and not a Windows device name. Nothing left: the file id.
func safeName(name, id string) string {
	name = name[strings.LastIndexAny(name, `/\`)+1:]
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || strings.ContainsRune(`<>:"|?*`, r) {
			return '_'
		}
		return r
	}, name)
	name = strings.TrimRight(strings.TrimLeft(name, ". "), ". ")
	if name == "" {
		return id
	}
	base, _, _ := strings.Cut(strings.ToUpper(name), ".")
	switch base {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
		"COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
		"LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9":
		return "_" + name
	}
	return name
}

// oneLine shows a name from another user on one line of a terminal.
func oneLine(s string) string {
	return strings.NewReplacer("\t", " ", "\n", " ").Replace(printable(s))
}

// size shows a byte count for people.
func size(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	f, unit := float64(n)/1024, "KiB"
	for _, u := range []string{"MiB", "GiB", "TiB"} {
		if f < 1024 {
			break
		}
		f, unit = f/1024, u
	}
	return fmt.Sprintf("%.1f %s", f, unit)
}
