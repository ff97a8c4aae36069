package actors

import (
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync"

	"github.com/asynkron/protoactor-go/actor"
)

// Actor name prefixes: one actor per online user, per active group and per
// active private conversation.
const (
	userPrefix  = "user/"
	groupPrefix = "group/"
	chatPrefix  = "chat/"
)

// Directory finds or spawns actors by name and knows every online user's
// connections. Sends go through it so that passivation cannot lose a message:
// an actor that passivates first forgets itself here, then forwards whatever
// still reaches it back through the directory to its successor.
type Directory struct {
	hub *Hub

	mu     sync.Mutex
	actors map[string]*actor.PID
	gen    uint64

	// conns holds the connections of every online user. A user actor replaces
	// its user's slice on every change and never modifies one in place, so
	// fan-out reads a snapshot without any actor hop.
	connsMu sync.RWMutex
	conns   map[string][]Conn
}

func newDirectory(h *Hub) *Directory {
	return &Directory{hub: h, actors: make(map[string]*actor.PID), conns: make(map[string][]Conn)}
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

func (d *Directory) send(name string, msg any, spawn bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	pid := d.actors[name]
	if pid == nil {
		if !spawn {
			return
		}
		pid = d.spawn(name)
	}
	d.hub.system.Root.Send(pid, msg)
}

func (d *Directory) spawn(name string) *actor.PID {
	var producer actor.Producer
	switch {
	case strings.HasPrefix(name, userPrefix):
		producer = newUserProducer(d.hub, strings.TrimPrefix(name, userPrefix))
	case strings.HasPrefix(name, groupPrefix):
		producer = newGroupProducer(d.hub, strings.TrimPrefix(name, groupPrefix))
	case strings.HasPrefix(name, chatPrefix):
		a, b, _ := strings.Cut(strings.TrimPrefix(name, chatPrefix), ":")
		producer = newChatProducer(d.hub, a, b)
	default:
		panic("directory: no actor kind for " + name)
	}
	props := actor.PropsFromProducer(producer,
		actor.WithGuardian(actor.NewExponentialBackoffStrategy(d.hub.acfg.RestartWindow, d.hub.acfg.RestartBackoff)))
	pid, err := d.hub.system.Root.SpawnNamed(props, name)
	if errors.Is(err, actor.ErrNameExists) {
		// The previous actor of this name is still draining its mailbox.
		d.gen++
		pid, err = d.hub.system.Root.SpawnNamed(props, fmt.Sprintf("%s~%d", name, d.gen))
	}
	if err != nil { // only a name clash can fail, and gen makes names unique
		panic(fmt.Sprintf("spawn actor %s: %v", name, err))
	}
	d.actors[name] = pid
	return pid
}

// forget removes pid as the actor called name, if it still is.
func (d *Directory) forget(name string, pid *actor.PID) {
	d.mu.Lock()
	if cur := d.actors[name]; cur != nil && cur.Equal(pid) {
		delete(d.actors, name)
	}
	d.mu.Unlock()
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

// Live returns how many actors are running.
func (d *Directory) Live() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.actors)
}

func (d *Directory) stopAll() {
	d.mu.Lock()
	pids := make([]*actor.PID, 0, len(d.actors))
	for _, pid := range d.actors {
		pids = append(pids, pid)
	}
	clear(d.actors)
	d.mu.Unlock()
	for _, pid := range pids {
		_ = d.hub.system.Root.StopFuture(pid).Wait()
	}
}
