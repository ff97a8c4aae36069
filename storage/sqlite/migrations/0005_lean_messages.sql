-- messages keeps the two keys the data model names, (conversation, seq) and
-- (sender, client_msg_id), and no foreign keys: they cost every INSERT two
-- lookups in users. Users are never deleted, and AppendMessages checks that
-- a batch's senders and recipients exist (caching the names it has seen).
-- SQLite drops a constraint only by rebuilding the table; nothing refers to
-- messages, and the migration runs in one transaction.

CREATE TABLE messages_lean (
	conversation  TEXT     NOT NULL CHECK (length(conversation) <= 67),
	seq           INTEGER  NOT NULL CHECK (seq > 0),
	sender        TEXT     NOT NULL,
	recipient     TEXT,
	client_msg_id TEXT     NOT NULL CHECK (length(client_msg_id) <= 64),
	body          TEXT     NOT NULL CHECK (octet_length(body) <= 1048576),
	created       DATETIME NOT NULL,
	PRIMARY KEY (conversation, seq),
	UNIQUE (sender, client_msg_id)
) WITHOUT ROWID;

INSERT INTO messages_lean (conversation, seq, sender, recipient, client_msg_id, body, created)
	SELECT conversation, seq, sender, recipient, client_msg_id, body, created FROM messages;

DROP TABLE messages;

ALTER TABLE messages_lean RENAME TO messages;
