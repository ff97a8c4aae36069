package actors

import (
	"errors"
	"fmt"
	"sync"

	"github.com/asynkron/protoactor-go/actor"
)

// Directory finds or spawns the actor of a user by name and knows who is
// online. Sends go through it so that passivation cannot lose a message: an
// actor that passivates first forgets itself here, then forwards whatever
// still reaches it back through the directory to its successor.
type Directory struct {
	hub *Hub

	mu     sync.Mutex
	users  map[string]*actor.PID
	gen    uint64
	online map[string]bool
}

func newDirectory(h *Hub) *Directory {
	return &Directory{hub: h, users: make(map[string]*actor.PID), online: make(map[string]bool)}
}

// Send delivers msg to the actor of user. With spawn false, a user without a
// live actor is offline and the message is dropped (pushes only: what matters
// is in the database and is read at the next login).
func (d *Directory) Send(user string, msg any, spawn bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	pid := d.users[user]
	if pid == nil {
		if !spawn {
			return
		}
		pid = d.spawn(user)
	}
	d.hub.system.Root.Send(pid, msg)
}

func (d *Directory) spawn(user string) *actor.PID {
	props := actor.PropsFromProducer(newUserProducer(d.hub, user),
		actor.WithGuardian(actor.NewExponentialBackoffStrategy(d.hub.acfg.RestartWindow, d.hub.acfg.RestartBackoff)))
	pid, err := d.hub.system.Root.SpawnNamed(props, "user/"+user)
	if errors.Is(err, actor.ErrNameExists) {
		// The previous actor of this user is still draining its mailbox.
		d.gen++
		pid, err = d.hub.system.Root.SpawnNamed(props, fmt.Sprintf("user/%s~%d", user, d.gen))
	}
	if err != nil { // only a name clash can fail, and gen makes names unique
		panic(fmt.Sprintf("spawn user actor %s: %v", user, err))
	}
	d.users[user] = pid
	return pid
}

// forget removes pid as the actor of user, if it still is.
func (d *Directory) forget(user string, pid *actor.PID) {
	d.mu.Lock()
	if cur := d.users[user]; cur != nil && cur.Equal(pid) {
		delete(d.users, user)
	}
	d.mu.Unlock()
}

// SetOnline records whether user has at least one session.
func (d *Directory) setOnline(user string, on bool) {
	d.mu.Lock()
	if on {
		d.online[user] = true
	} else {
		delete(d.online, user)
	}
	d.mu.Unlock()
}

// Online reports whether user has at least one session.
func (d *Directory) Online(user string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.online[user]
}

// Live returns how many user actors are running.
func (d *Directory) Live() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.users)
}

func (d *Directory) stopAll() {
	d.mu.Lock()
	pids := make([]*actor.PID, 0, len(d.users))
	for _, pid := range d.users {
		pids = append(pids, pid)
	}
	clear(d.users)
	d.mu.Unlock()
	for _, pid := range pids {
		_ = d.hub.system.Root.StopFuture(pid).Wait()
	}
}
