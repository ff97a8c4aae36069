// Package files owns file sharing: the HTTP data channel (resumable uploads
// with PATCH and Upload-Offset, ranged downloads with http.ServeContent),
// the unfinished uploads, the content-addressed store of verified bytes
// under the data directory, and the short-lived tokens that the control
// protocol hands out for each transfer. A file's record is written to the
// database only after its bytes are verified and durable; the recipients
// are told then.
package files
