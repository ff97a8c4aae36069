package actors

import (
	"context"
	"errors"

	"github.com/asynkron/protoactor-go/actor"

	"huddle/protocol"
	"huddle/storage"
)

func (a *userActor) userGet(ctx actor.Context, r *request) {
	if err := protocol.DecodeData(r.Data, &protocol.UserGet{}); err != nil {
		a.hub.fail(r, err)
		return
	}
	if a.st.profile != nil {
		a.hub.reply(r, *a.st.profile)
		return
	}
	a.job(ctx, r, a.profile, a.cacheProfile)
}

func (a *userActor) profile(sctx context.Context) (any, error) {
	u, err := a.hub.store.GetUser(sctx, a.name)
	if err != nil {
		return nil, err
	}
	return protocol.Profile{User: u.Name, Email: u.Email, Created: u.Created}, nil
}

// cacheProfile keeps the profile: only this actor changes it.
func (a *userActor) cacheProfile(_ actor.Context, data any) any {
	p := data.(protocol.Profile)
	a.st.profile = &p
	return p
}

func (a *userActor) userUpdate(ctx actor.Context, r *request) {
	var in protocol.UserUpdate
	if err := protocol.DecodeData(r.Data, &in); err != nil {
		a.hub.fail(r, err)
		return
	}
	a.job(ctx, r, func(sctx context.Context) (any, error) {
		if err := a.hub.store.UpdateEmail(sctx, a.name, in.Email); err != nil {
			return nil, err
		}
		return a.profile(sctx)
	}, a.cacheProfile)
}

func (a *userActor) logout(ctx actor.Context, r *request) {
	if err := protocol.DecodeData(r.Data, &protocol.Logout{}); err != nil {
		a.hub.fail(r, err)
		return
	}
	id, hash := r.conn.ID(), r.sess.tokenHash
	a.job(ctx, r, func(sctx context.Context) (any, error) {
		err := a.hub.store.DeleteSession(sctx, hash)
		if errors.Is(err, storage.ErrNotFound) {
			err = nil // already gone: logging out is idempotent
		}
		return protocol.Empty{}, err
	}, func(ctx actor.Context, _ any) any {
		a.endSession(id, nil)
		a.wentOffline(ctx)
		return protocol.Empty{}
	})
}

func (a *userActor) passwd(ctx actor.Context, r *request) {
	var in protocol.Passwd
	if err := protocol.DecodeData(r.Data, &in); err != nil {
		a.hub.fail(r, err)
		return
	}
	if wait := a.hub.passwordWait(a.name, r.conn.RemoteAddr()); wait > 0 {
		a.hub.fail(r, tooManyFailures(wait))
		return
	}
	keep := r.sess.tokenHash
	a.job(ctx, r, func(sctx context.Context) (any, error) {
		u, err := a.hub.store.GetUser(sctx, a.name)
		if err != nil {
			return nil, err
		}
		ok, err := a.hub.hasher.Verify(sctx, u.PasswordHash, in.OldPassword)
		if err != nil {
			return nil, err
		}
		if !ok {
			a.hub.passwordFailed(a.name, r.conn.RemoteAddr())
			return nil, protocol.Errorf(protocol.CodeUnauthorized, "old password is wrong")
		}
		hash, err := a.hub.hasher.Hash(sctx, in.NewPassword)
		if err != nil {
			return nil, err
		}
		n, err := a.hub.store.UpdatePassword(sctx, a.name, hash, keep)
		return protocol.PasswdReply{Revoked: n}, err
	}, func(ctx actor.Context, data any) any {
		a.revokeOthers(ctx, keep, "password changed")
		return data
	})
}
