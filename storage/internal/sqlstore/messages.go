package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"sync"
	"time"

	"huddle/storage"
)

// AppendMessages stores a batch in one transaction. The fast path takes
// each conversation's newest seq from the store's cache (reading only the
// ones it lacks) and inserts the new rows with one INSERT (more only past
// the bounds in build.go), trusting the unique keys to refuse a retried
// client_msg_id or a seq another writer took. When they do, the transaction
// is rolled back and the careful path runs: one lookup of the batch's
// client_msg_ids (retries are answered with the original), one locking read
// of its conversations' newest seqs, then the INSERT. A seq is only ever
// assigned inside the transaction that stores it, so a rolled-back attempt
// leaves no gap; the cache only learns seqs that committed.
func (s *Store) AppendMessages(ctx context.Context, msgs []storage.Message) ([]storage.Appended, error) {
	for i := range msgs {
		if err := checkMessage(&msgs[i]); err != nil {
			return nil, fmt.Errorf("append messages: message %d: %w", i, err)
		}
	}
	out := make([]storage.Appended, len(msgs))
	if len(msgs) == 0 {
		return out, nil
	}
	if err := s.inserts.prepare(ctx, s.db); err != nil {
		return nil, s.wrap(err, "prepare inserts")
	}
	attempt := func(careful bool) error {
		return s.inTxWith(ctx, s.dialect.AppendTx, func(tx *sql.Tx) error {
			clear(out) // from a failed attempt
			return s.appendTx(ctx, tx, msgs, out, careful)
		})
	}
	err := attempt(false)
	if errors.Is(err, errCareful) {
		err = attempt(true)
	}
	if err != nil {
		s.seqs.forget(msgs)
		return nil, s.wrap(err, "append %d messages", len(msgs))
	}
	s.seqs.learn(msgs, out)
	return out, nil
}

// errCareful sends AppendMessages from its fast path to the careful one.
var errCareful = errors.New("a key of the batch is taken")

// seqCache remembers the newest committed seq of the conversations this
// store wrote lately. It is only a guess: the primary key refuses a seq
// that is taken, and the careful path reads the truth.
type seqCache struct {
	mu   sync.Mutex
	last map[string]int64
}

// maxCachedConversations bounds the cache; past it, it starts afresh.
const maxCachedConversations = 1 << 17

func (c *seqCache) fill(last map[string]int64) (missing []any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for conv := range last {
		if seq, ok := c.last[conv]; ok {
			last[conv] = seq
		} else {
			missing = append(missing, conv)
		}
	}
	return missing
}

func (c *seqCache) learn(msgs []storage.Message, out []storage.Appended) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last == nil || len(c.last) > maxCachedConversations {
		c.last = make(map[string]int64)
	}
	for i := range msgs {
		if conv := msgs[i].Conversation; out[i].Err == nil && out[i].Seq > c.last[conv] {
			c.last[conv] = out[i].Seq
		}
	}
}

func (c *seqCache) forget(msgs []storage.Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range msgs {
		delete(c.last, msgs[i].Conversation)
	}
}

// checkMessage rejects what only a caller's bug produces: a conversation id
// that does not name the conversation between sender and recipient, or a
// group's or a meeting's with a recipient. An empty client_msg_id would make
// every later one a duplicate.
func checkMessage(m *storage.Message) error {
	if m.ClientMsgID == "" {
		return errors.New("empty client_msg_id")
	}
	if m.Recipient != "" {
		if m.Conversation != storage.PrivateConversation(m.Sender, m.Recipient) {
			return fmt.Errorf("conversation %q is not the one between %q and %q", m.Conversation, m.Sender, m.Recipient)
		}
		return nil
	}
	if !isShared(m.Conversation) {
		return fmt.Errorf("conversation %q without a recipient is not a group's or a meeting's", m.Conversation)
	}
	return nil
}

// isShared reports whether conv is the conversation of a group ("g:17") or
// of a meeting ("m:42"), spelled as the storage package spells it. Neither
// has a recipient, and AppendMessages creates no read markers for them.
func isShared(conv string) bool {
	if len(conv) < 2 {
		return false
	}
	id, err := strconv.ParseInt(conv[2:], 10, 64)
	return err == nil && (conv == storage.GroupConversation(id) || conv == storage.MeetingConversation(id))
}

// sentKey is what makes a message unique besides its place.
type sentKey struct{ sender, clientMsgID string }

// sent is where a stored message went.
type sent struct {
	conv    string
	seq     int64
	created time.Time
}

// What appendTx decided for a message, when it is not a duplicate of an
// earlier message of the batch (then it is that message's index).
const (
	isNew     = -1
	isSettled = -2 // out holds the answer: an earlier duplicate or a conflict
)

func (s *Store) appendTx(ctx context.Context, tx *sql.Tx, msgs []storage.Message, out []storage.Appended, careful bool) error {
	var found map[sentKey]sent
	if careful {
		var err error
		if found, err = s.findSent(ctx, tx, msgs); err != nil {
			return err
		}
	}
	first := make(map[sentKey]int, len(msgs))
	fate := make([]int, len(msgs))
	last := make(map[string]int64) // conversation → its newest seq
	for i := range msgs {
		m := &msgs[i]
		k := sentKey{m.Sender, m.ClientMsgID}
		if f, ok := found[k]; ok {
			fate[i] = isSettled
			if f.conv == m.Conversation {
				out[i] = storage.Appended{Seq: f.seq, Created: f.created, Duplicate: true}
			} else {
				out[i].Err = storage.ErrConflict
			}
			continue
		}
		if j, ok := first[k]; ok {
			fate[i] = j
			if msgs[j].Conversation != m.Conversation {
				fate[i] = isSettled
				out[i].Err = storage.ErrConflict
			}
			continue
		}
		first[k] = i
		fate[i] = isNew
		last[m.Conversation] = 0
	}
	if len(last) == 0 {
		return nil
	}
	convs := s.seqs.fill(last)
	if careful {
		convs = slices.AppendSeq(convs[:0], func(yield func(any) bool) {
			for conv := range last {
				if !yield(conv) {
					return
				}
			}
		})
	}
	if err := s.lastSeqs(ctx, tx, last, convs); err != nil {
		return err
	}
	var fresh int
	var started []string // private conversations whose first message is here
	for i, f := range fate {
		m := &msgs[i]
		switch {
		case f == isNew:
			seq := last[m.Conversation] + 1
			last[m.Conversation] = seq
			if seq == 1 && m.Recipient != "" {
				started = append(started, m.Conversation)
			}
			out[i] = storage.Appended{Seq: seq, Created: m.Created.UTC().Truncate(time.Microsecond)}
			fresh++
		case f >= 0:
			out[i] = storage.Appended{Seq: out[f].Seq, Created: out[f].Created, Duplicate: true}
		}
	}
	if err := s.checkUsers(ctx, tx, msgs, fate); err != nil {
		return err
	}
	if err := s.insertMessages(ctx, tx, msgs, fate, out, fresh, careful); err != nil {
		return err
	}
	return s.startPrivate(ctx, tx, started)
}

// knownUsers remembers names found in users. Users are never deleted, so a
// name once found stays valid; the set only bounds its size.
type knownUsers struct {
	mu    sync.Mutex
	names map[string]struct{}
}

// maxKnownUsers bounds knownUsers; past it, it starts afresh.
const maxKnownUsers = 1 << 17

// unknown returns the names of the fresh messages' senders and recipients
// not known yet, each once.
func (k *knownUsers) unknown(msgs []storage.Message, fate []int) []any {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []any
	var asked map[string]bool
	for i, f := range fate {
		if f != isNew {
			continue
		}
		for _, name := range [2]string{msgs[i].Sender, msgs[i].Recipient} {
			if _, ok := k.names[name]; ok || name == "" || asked[name] {
				continue
			}
			if asked == nil {
				asked = make(map[string]bool)
			}
			asked[name] = true
			out = append(out, name)
		}
	}
	return out
}

func (k *knownUsers) add(names []string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.names == nil || len(k.names)+len(names) > maxKnownUsers {
		k.names = make(map[string]struct{})
	}
	for _, n := range names {
		k.names[n] = struct{}{}
	}
}

// checkUsers fails the batch with storage.ErrNotFound when a fresh
// message's sender or recipient is not a user: what foreign keys did before
// migration 5, for one indexed read of the names first seen.
func (s *Store) checkUsers(ctx context.Context, tx *sql.Tx, msgs []storage.Message, fate []int) error {
	names := s.users.unknown(msgs, fate)
	for start := 0; start < len(names); start += maxRowsPerStatement {
		chunk := names[start:min(start+maxRowsPerStatement, len(names))]
		rows, err := tx.QueryContext(ctx, withRows(`SELECT name FROM users WHERE name IN (`, `?`, `)`, len(chunk)), chunk...)
		if err != nil {
			return err
		}
		var found []string
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				rows.Close()
				return err
			}
			found = append(found, name)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		s.users.add(found)
		if len(found) < len(chunk) {
			for _, n := range chunk {
				if !slices.Contains(found, n.(string)) {
					return fmt.Errorf("user %q: %w", n, storage.ErrNotFound)
				}
			}
		}
	}
	return nil
}

// findSent looks up the messages already stored under the batch's
// (sender, client_msg_id) pairs, through their unique index.
func (s *Store) findSent(ctx context.Context, tx *sql.Tx, msgs []storage.Message) (map[sentKey]sent, error) {
	var found map[sentKey]sent
	args := make([]any, 0, 2*min(len(msgs), maxRowsPerStatement))
	for start := 0; start < len(msgs); start += maxRowsPerStatement {
		chunk := msgs[start:min(start+maxRowsPerStatement, len(msgs))]
		args = args[:0]
		for i := range chunk {
			args = append(args, chunk[i].Sender, chunk[i].ClientMsgID)
		}
		var query string
		if s.dialect.RowInIndexed {
			query = withRows(`SELECT sender, client_msg_id, conversation, seq, created FROM messages
				WHERE (sender, client_msg_id) IN (`, `(?, ?)`, `)`, len(chunk))
		} else {
			query = withRows(`WITH k (sender, client_msg_id) AS (VALUES `, `(?, ?)`,
				`) SELECT m.sender, m.client_msg_id, m.conversation, m.seq, m.created
				FROM k JOIN messages m ON m.sender = k.sender AND m.client_msg_id = k.client_msg_id`, len(chunk))
		}
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var k sentKey
			var f sent
			if err := rows.Scan(&k.sender, &k.clientMsgID, &f.conv, &f.seq, &f.created); err != nil {
				rows.Close()
				return nil, err
			}
			if found == nil {
				found = make(map[sentKey]sent)
			}
			found[k] = f
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return found, nil
}

// lastSeqs sets the newest seq of each conversation in convs in last (0
// when empty), read through the primary key and locked where the dialect
// can: writers to one conversation then wait for each other here instead of
// failing on the primary key when they insert.
func (s *Store) lastSeqs(ctx context.Context, tx *sql.Tx, last map[string]int64, convs []any) error {
	for _, conv := range convs {
		last[conv.(string)] = 0
	}
	for start := 0; start < len(convs); start += maxRowsPerStatement {
		chunk := convs[start:min(start+maxRowsPerStatement, len(convs))]
		rows, err := tx.QueryContext(ctx, withRows(
			`SELECT conversation, MAX(seq) FROM messages WHERE conversation IN (`, `?`,
			`) GROUP BY conversation `+s.dialect.ForUpdate,
			len(chunk)), chunk...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var conv string
			var seq int64
			if err := rows.Scan(&conv, &seq); err != nil {
				rows.Close()
				return err
			}
			last[conv] = seq
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// insertMessages inserts the fresh messages of the batch, which appendTx
// has given their seqs in out, in as few statements as the bounds allow.
func (s *Store) insertMessages(ctx context.Context, tx *sql.Tx, msgs []storage.Message, fate []int, out []storage.Appended, fresh int, careful bool) error {
	args := make([]any, 0, insertColumns*min(fresh, maxRowsPerStatement))
	rows, size := 0, 0
	flush := func() error {
		if err := s.inserts.exec(ctx, tx, args); s.classify(err) == Duplicate {
			if !careful {
				// A retry, or a seq the cache did not know was taken.
				return errCareful
			}
			// A concurrent transaction took one of these seqs or
			// client_msg_ids after this one read them.
			return errRace
		} else if err != nil {
			return err
		}
		args, rows, size = args[:0], 0, 0
		return nil
	}
	for i, f := range fate {
		if f != isNew {
			continue
		}
		m := &msgs[i]
		n := len(m.Conversation) + len(m.Sender) + len(m.Recipient) + len(m.ClientMsgID) + len(m.Body)
		if rows == maxRowsPerStatement || (rows > 0 && size+n > maxBytesPerStatement) {
			if err := flush(); err != nil {
				return err
			}
		}
		var recipient any // NULL in a group
		if m.Recipient != "" {
			recipient = m.Recipient
		}
		args = append(args, m.Conversation, out[i].Seq, m.Sender, recipient, m.ClientMsgID, m.Body, m.Created)
		rows++
		size += n
	}
	return flush()
}

const insertColumns = 7

// insertStmts are the prepared multi-row INSERTs of messages, one for
// each power of two up to 512 rows: a batch of n rows takes one statement
// per bit of n. Prepared, the database parses an INSERT once per
// connection instead of once per batch, and the values travel in the
// binary protocol instead of as escaped text: about a third of MariaDB's
// work per message (bench/RESULTS.md).
type insertStmts struct {
	mu    sync.Mutex
	stmts [10]*sql.Stmt // stmts[k] inserts 1<<k rows
}

// prepare prepares the statements on the pool, once: a transaction's
// connection then reuses or prepares them itself (database/sql keeps a
// statement per connection).
func (p *insertStmts) prepare(ctx context.Context, db *sql.DB) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, st := range p.stmts {
		if st != nil {
			continue
		}
		st, err := db.PrepareContext(ctx, withRows(
			`INSERT INTO messages (conversation, seq, sender, recipient, client_msg_id, body, created) VALUES `,
			`(?, ?, ?, ?, ?, ?, ?)`, "", 1<<k))
		if err != nil {
			return err
		}
		p.stmts[k] = st
	}
	return nil
}

// exec inserts the rows whose columns args holds, insertColumns a row.
func (p *insertStmts) exec(ctx context.Context, tx *sql.Tx, args []any) error {
	for rows := len(args) / insertColumns; rows > 0; {
		k := min(bits.Len(uint(rows))-1, len(p.stmts)-1)
		n := 1 << k
		p.mu.Lock()
		st := p.stmts[k]
		p.mu.Unlock()
		if _, err := tx.StmtContext(ctx, st).ExecContext(ctx, args[:n*insertColumns]...); err != nil {
			return err
		}
		args, rows = args[n*insertColumns:], rows-n
	}
	return nil
}

func (p *insertStmts) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, st := range p.stmts {
		if st != nil {
			_ = st.Close()
			p.stmts[i] = nil
		}
	}
}

// startPrivate creates both users' read markers, at 0, in private
// conversations that just got their first message.
func (s *Store) startPrivate(ctx context.Context, tx *sql.Tx, convs []string) error {
	args := make([]any, 0, 4*min(len(convs), maxRowsPerStatement/2))
	rows := 0
	for i, conv := range convs {
		a, b, _ := storage.PrivatePeers(conv) // checkMessage made sure
		args = append(args, a, conv)
		rows++
		if a != b {
			args = append(args, b, conv)
			rows++
		}
		if rows+2 <= maxRowsPerStatement && i < len(convs)-1 {
			continue
		}
		_, err := tx.ExecContext(ctx, withRows(`INSERT INTO read_markers (user, conversation, seq) VALUES `,
			`(?, ?, 0)`, " "+s.dialect.KeepMarkers, rows), args...)
		if err != nil {
			return err
		}
		args, rows = args[:0], 0
	}
	return nil
}
