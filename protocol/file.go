package protocol

import (
	"encoding/hex"
	"mime"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// File limits fixed by the protocol. The largest file and the per-user quota
// are the server's configuration (files.max_size, files.quota); beyond them:
// too_large.
const (
	MaxFileNameLen = 255 // bytes
	MaxFileTypeLen = 127
	MaxFileList    = 200
	FileIDLen      = 26 // base32 (no padding, lower case) of 16 random bytes
)

// FileUpload asks to send a file to a user or a group. The server answers
// with where and how to upload its bytes over HTTP. Asking again for the
// same file (same recipient, name, size and sha256) while an earlier upload
// of it is unfinished returns that upload, with the bytes the server has.
//
// SHA256 may be left out: the client then gives it with the bytes (a
// Repr-Digest field of a PATCH, see FileUploadReply) and need not read the
// file once before sending it. Asked for again with its sum within
// files.finished_ttl of being stored, a file is the stored one (however its
// sum came); asked for without a sum, the same name and size is a new share.
type FileUpload struct {
	Conversation
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256,omitempty"` // lower-case hex; "" to give it at the end
	Type   string `json:"type,omitempty"`   // a media type; default application/octet-stream
}

// Validate implements the payload check run by DecodeData.
func (f *FileUpload) Validate() error {
	if err := f.Conversation.Validate(); err != nil {
		return err
	}
	if err := CheckFileName(f.Name); err != nil {
		return err
	}
	if f.Size < 0 {
		return Errorf(CodeBadRequest, "size must not be negative")
	}
	if f.SHA256 != "" {
		if err := CheckSHA256(f.SHA256); err != nil {
			return err
		}
	}
	if f.Type == "" {
		f.Type = "application/octet-stream"
	}
	if len(f.Type) > MaxFileTypeLen {
		return Errorf(CodeBadRequest, "type must be at most %d characters", MaxFileTypeLen)
	}
	mt, params, err := mime.ParseMediaType(f.Type)
	if err != nil {
		return Errorf(CodeBadRequest, "type %q is not a media type", f.Type)
	}
	// Kept in its canonical form, which is what goes out as Content-Type:
	// FormatMediaType refuses what could break the header.
	if f.Type = mime.FormatMediaType(mt, params); f.Type == "" || len(f.Type) > MaxFileTypeLen {
		return Errorf(CodeBadRequest, "type is not a media type that can be sent as Content-Type")
	}
	return nil
}

// CheckFileName accepts a display name: 1-255 bytes of UTF-8 without control
// or format characters, path separators or a name that means a directory ("." and
// ".."). Names are shown to people and sent in Content-Disposition; they are
// never used as paths.
func CheckFileName(s string) error {
	switch {
	case s == "" || len(s) > MaxFileNameLen:
		return Errorf(CodeBadRequest, "name must be 1-%d bytes", MaxFileNameLen)
	case !utf8.ValidString(s):
		return Errorf(CodeBadRequest, "name must be valid UTF-8")
	case s == "." || s == "..":
		return Errorf(CodeBadRequest, "name %q is not a file name", s)
	case strings.ContainsAny(s, `/\`):
		return Errorf(CodeBadRequest, "name must not contain / or \\")
	case strings.TrimSpace(s) != s:
		return Errorf(CodeBadRequest, "name must not start or end with spaces")
	}
	for _, r := range s {
		// Format characters (right-to-left override and the like) make a
		// name look like another: "invoice\u202efdp.exe".
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			return Errorf(CodeBadRequest, "name must not contain control or format characters")
		}
	}
	return nil
}

// CheckSHA256 accepts 64 lower-case hex digits.
func CheckSHA256(s string) error {
	if len(s) != 64 || strings.ToLower(s) != s {
		return Errorf(CodeBadRequest, "sha256 must be 64 lower-case hex digits")
	}
	if _, err := hex.DecodeString(s); err != nil {
		return Errorf(CodeBadRequest, "sha256 must be 64 lower-case hex digits")
	}
	return nil
}

// FileUploadReply says where to upload: PATCH URL with the token as
// "Authorization: Bearer TOKEN" and "Upload-Offset: Offset", sending the
// bytes from Offset on (HEAD URL tells the offset again, after an
// interruption). The upload is complete when Size bytes have arrived and
// their SHA-256 matched the one declared, or, for a FileUpload without
// one, the one a PATCH gave as "Repr-Digest: sha-256=:BASE64:" (RFC
// 9530), a header or a trailer; until it has, a PATCH that sent the last
// byte is answered 204 with Upload-Offset at the end.
type FileUploadReply struct {
	File    string    `json:"file"`
	URL     string    `json:"url"`
	Token   string    `json:"token"`
	Expires time.Time `json:"expires"`
	Offset  int64     `json:"offset"`
}

// FileID names a file: file.download.
type FileID struct {
	File string `json:"file"`
}

// Validate implements the payload check run by DecodeData.
func (f *FileID) Validate() error { return CheckFileID(f.File) }

// CheckFileID accepts the form of the ids the server makes.
func CheckFileID(s string) error {
	if len(s) != FileIDLen {
		return Errorf(CodeBadRequest, "file must be a %d-character file id", FileIDLen)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return Errorf(CodeBadRequest, "file must be a %d-character file id", FileIDLen)
		}
	}
	return nil
}

// FileDownloadReply says where to download: GET URL with the token as
// "Authorization: Bearer TOKEN". Range requests are served; the ETag is the
// quoted sha256.
type FileDownloadReply struct {
	FileInfo
	URL     string    `json:"url"`
	Token   string    `json:"token"`
	Expires time.Time `json:"expires"`
}

// FileList asks for the files sent to the caller, by the caller and to the
// caller's groups, newest first: the Limit files before the file Before
// (from the newest when Before is empty).
type FileList struct {
	Before string `json:"before,omitempty"`
	Limit  int    `json:"limit,omitempty"` // default 50, at most MaxFileList
}

// Validate implements the payload check run by DecodeData.
func (f *FileList) Validate() error {
	if f.Before != "" {
		if err := CheckFileID(f.Before); err != nil {
			return err
		}
	}
	if f.Limit < 0 || f.Limit > MaxFileList {
		return Errorf(CodeBadRequest, "limit must be 1-%d", MaxFileList)
	}
	if f.Limit == 0 {
		f.Limit = 50
	}
	return nil
}

// FileInfo describes a stored file: an item of file.list and the data of the
// file.new push. To is the receiving user, or the group's name with Group
// set too.
type FileInfo struct {
	File   string    `json:"file"`
	Name   string    `json:"name"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	Group  string    `json:"group,omitempty"`
	Size   int64     `json:"size"`
	SHA256 string    `json:"sha256"`
	Type   string    `json:"type"`
	TS     time.Time `json:"ts"`
}

// FileListReply lists files newest first.
type FileListReply struct {
	Files []FileInfo `json:"files"`
}
