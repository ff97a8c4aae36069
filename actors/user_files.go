package actors

import (
	"context"
	"slices"

	"github.com/asynkron/protoactor-go/actor"

	"huddle/files"
	"huddle/protocol"
	"huddle/storage"
)

// File requests run as the user's jobs, one at a time, so that one user's
// uploads are checked against the quota one after another.

func (a *userActor) fileUpload(ctx actor.Context, r *request) {
	var in protocol.FileUpload
	if err := protocol.DecodeData(r.Data, &in); err != nil {
		a.hub.fail(r, err)
		return
	}
	a.job(ctx, r, func(sctx context.Context) (any, error) {
		return a.hub.files.Upload(sctx, a.name, in)
	}, nil)
}

func (a *userActor) fileDownload(ctx actor.Context, r *request) {
	var in protocol.FileID
	if err := protocol.DecodeData(r.Data, &in); err != nil {
		a.hub.fail(r, err)
		return
	}
	a.job(ctx, r, func(sctx context.Context) (any, error) {
		return a.hub.files.Download(sctx, a.name, in.File)
	}, nil)
}

func (a *userActor) fileList(ctx actor.Context, r *request) {
	var in protocol.FileList
	if err := protocol.DecodeData(r.Data, &in); err != nil {
		a.hub.fail(r, err)
		return
	}
	a.job(ctx, r, func(sctx context.Context) (any, error) {
		return a.hub.files.List(sctx, a.name, in)
	}, nil)
}

func (a *userActor) recordingList(ctx actor.Context, r *request) {
	var in protocol.RecordingList
	if err := protocol.DecodeData(r.Data, &in); err != nil {
		a.hub.fail(r, err)
		return
	}
	a.job(ctx, r, func(sctx context.Context) (any, error) {
		return a.hub.files.Recordings(sctx, a.name, in)
	}, nil)
}

func (a *userActor) recordingGet(ctx actor.Context, r *request) {
	var in protocol.RecordingID
	if err := protocol.DecodeData(r.Data, &in); err != nil {
		a.hub.fail(r, err)
		return
	}
	a.job(ctx, r, func(sctx context.Context) (any, error) {
		return a.hub.files.Recording(sctx, a.name, in.Recording)
	}, nil)
}

// FileStored pushes file.new to the recipients of a file whose record was
// just written: the receiving user, or every current member of the group,
// and the sender's sessions. It runs on the data channel's goroutine.
func (h *Hub) FileStored(f storage.File) {
	frame, err := protocol.EncodePush(protocol.PushFileNew, files.Info(f))
	if err != nil {
		h.log.Error("encode file.new", "err", err)
		return
	}
	users := []string{f.Sender, f.Receiver}
	if f.GroupID != 0 {
		ctx, cancel := h.storeCtx()
		members, err := h.store.Members(ctx, f.GroupID)
		cancel()
		if err != nil {
			h.log.Error("file.new: group members", "file", f.ID, "err", err)
			return
		}
		users = users[:1]
		for _, m := range members {
			if m.User != f.Sender {
				users = append(users, m.User)
			}
		}
	}
	h.dir.push(frame, 0, slices.Values(users))
}
