package actors

import (
	"errors"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
)

// Actor name prefixes: one actor per online user, per active group and per
// active private conversation.
const (
	userPrefix    = "user/"
	groupPrefix   = "group/"
	chatPrefix    = "chat/"
	meetingPrefix = "meeting/"
)

// Directory finds or spawns actors by name and knows every online user's
// connections. Every message to a named actor goes through it, wrapped in a
// *routed and counted, so that an idle actor can stop without losing or
// reordering anything: it retires only if it has received every message the
// directory ever sent it (see retire); otherwise more is on its way and it
// stays.
type Directory struct {
	hub      *Hub
	guardian actor.SupervisorStrategy

	mu     sync.RWMutex // read-held to send, so the event loops route side by side
	actors map[string]*entry
	gen    uint64

	// conns holds the connections of every online user. A user actor replaces
	// its user's slice on every change and never modifies one in place, so
	// fan-out reads a snapshot without any actor hop.
	connsMu sync.RWMutex
	conns   map[string][]Conn
}

// entry is a live actor and how many messages the directory sent it.
type entry struct {
	pid  *actor.PID
	sent atomic.Uint64
}

// routed is a message sent through the directory.
type routed struct{ msg any }

func newDirectory(h *Hub) *Directory {
	return &Directory{
		hub: h,
		// One strategy for all: protoactor keeps a guardian per strategy value.
		guardian: actor.NewExponentialBackoffStrategy(h.acfg.RestartWindow, h.acfg.RestartBackoff),
		actors:   make(map[string]*entry),
		conns:    make(map[string][]Conn),
	}
}

// Send delivers msg to the actor of user. With spawn false, a user without a
// live actor is offline and the message is dropped (pushes only: what matters
// is in the database and is read at the next login).
func (d *Directory) Send(user string, msg any, spawn bool) {
	d.send(userPrefix+user, msg, spawn)
}

// sendGroup delivers msg to the actor of the group named name.
func (d *Directory) sendGroup(name string, msg any) { d.send(groupPrefix+name, msg, true) }

// sendChat delivers msg to the actor of the private conversation of a and b.
func (d *Directory) sendChat(a, b string, msg any) {
	if b < a {
		a, b = b, a
	}
	d.send(chatPrefix+a+":"+b, msg, true)
}

// sendMeeting delivers msg to the actor of the meeting with id.
func (d *Directory) sendMeeting(id int64, msg any) {
	d.send(meetingPrefix+strconv.FormatInt(id, 10), msg, true)
}

// send counts and sends under the lock, read-held: retire, which takes it
// whole, sees every message sent before it, and none after it starts.
func (d *Directory) send(name string, msg any, spawn bool) {
	d.mu.RLock()
	if e := d.actors[name]; e != nil {
		e.sent.Add(1)
		d.hub.system.Root.Send(e.pid, &routed{msg})
		d.mu.RUnlock()
		return
	}
	d.mu.RUnlock()
	if !spawn {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	e := d.actors[name]
	if e == nil {
		e = d.spawn(name)
	}
	e.sent.Add(1)
	d.hub.system.Root.Send(e.pid, &routed{msg})
}

func (d *Directory) spawn(name string) *entry {
	var producer actor.Producer
	switch {
	case strings.HasPrefix(name, userPrefix):
		producer = newUserProducer(d.hub, strings.TrimPrefix(name, userPrefix))
	case strings.HasPrefix(name, groupPrefix):
		producer = newGroupProducer(d.hub, strings.TrimPrefix(name, groupPrefix))
	case strings.HasPrefix(name, chatPrefix):
		a, b, _ := strings.Cut(strings.TrimPrefix(name, chatPrefix), ":")
		producer = newChatProducer(d.hub, a, b)
	case strings.HasPrefix(name, meetingPrefix):
		id, err := strconv.ParseInt(strings.TrimPrefix(name, meetingPrefix), 10, 64)
		if err != nil {
			panic("directory: bad meeting actor name " + name)
		}
		producer = newMeetingProducer(d.hub, id)
	default:
		panic("directory: no actor kind for " + name)
	}
	props := actor.PropsFromProducer(producer, actor.WithGuardian(d.guardian))
	pid, err := d.hub.system.Root.SpawnNamed(props, name)
	if errors.Is(err, actor.ErrNameExists) {
		// The previous actor of this name is still draining its mailbox.
		d.gen++
		pid, err = d.hub.system.Root.SpawnNamed(props, fmt.Sprintf("%s~%d", name, d.gen))
	}
	if err != nil { // only a name clash can fail, and gen makes names unique
		panic(fmt.Sprintf("spawn actor %s: %v", name, err))
	}
	e := &entry{pid: pid}
	d.actors[name] = e
	return e
}

// retire stops pid, the actor called name, if it has received all that the
// directory sent it (received counts the *routed messages it handled) and
// reports whether it did. The next message for name spawns a new actor,
// which finds the state in the database.
func (d *Directory) retire(name string, pid *actor.PID, received uint64) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	e := d.actors[name]
	if e == nil || !e.pid.Equal(pid) || e.sent.Load() != received {
		return false
	}
	delete(d.actors, name)
	d.hub.system.Root.Poison(pid)
	return true
}

// setConns records user's connections; none means offline.
func (d *Directory) setConns(user string, conns []Conn) {
	d.connsMu.Lock()
	if len(conns) == 0 {
		delete(d.conns, user)
	} else {
		d.conns[user] = conns
	}
	d.connsMu.Unlock()
}

// Online reports whether user has at least one session.
func (d *Directory) Online(user string) bool {
	d.connsMu.RLock()
	defer d.connsMu.RUnlock()
	return len(d.conns[user]) > 0
}

// push sends frame to every connection of users except the one with id
// skip (0 skips none).
func (d *Directory) push(frame []byte, skip uint64, users iter.Seq[string]) {
	d.connsMu.RLock()
	defer d.connsMu.RUnlock()
	for u := range users {
		for _, c := range d.conns[u] {
			if c.ID() != skip {
				c.Send(frame)
			}
		}
	}
}

// pushBatch sends frames to every session of users, as one Send: to the
// connections in instead the frames given there (nothing when none), to
// all others frames itself.
func (d *Directory) pushBatch(frames [][]byte, instead map[uint64][][]byte, users iter.Seq[string]) {
	d.connsMu.RLock()
	defer d.connsMu.RUnlock()
	for u := range users {
		for _, c := range d.conns[u] {
			f, ok := instead[c.ID()]
			if !ok {
				f = frames
			}
			if len(f) > 0 {
				c.Send(f...)
			}
		}
	}
}

// Live returns how many actors are running.
func (d *Directory) Live() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return len(d.actors)
}

func (d *Directory) stopAll() {
	d.mu.Lock()
	pids := make([]*actor.PID, 0, len(d.actors))
	for _, e := range d.actors {
		pids = append(pids, e.pid)
	}
	clear(d.actors)
	d.mu.Unlock()
	// All at once, then wait: an actor's stop may take a while (a meeting
	// finishing its recording's files), and one after another the waits
	// would add up.
	futures := make([]*actor.Future, len(pids))
	for i, pid := range pids {
		futures[i] = d.hub.system.Root.StopFuture(pid)
	}
	for _, f := range futures {
		_ = f.Wait()
	}
}
