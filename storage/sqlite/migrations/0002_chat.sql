-- Groups, their members, chat messages and read markers.
--
-- The table is chat_groups, not groups: GROUPS is a reserved word in MySQL 8,
-- and both backends keep the same names so the shared queries need no quoting.
-- AUTOINCREMENT never hands out an id again, even that of the newest group
-- after it is deleted: a group's conversation is named by its id, and a group
-- created again under an old name must start afresh.

CREATE TABLE chat_groups (
	id           INTEGER  NOT NULL PRIMARY KEY AUTOINCREMENT,
	name         TEXT     NOT NULL UNIQUE CHECK (length(name) <= 64),
	owner        TEXT     NOT NULL REFERENCES users (name),
	member_count INTEGER  NOT NULL CHECK (member_count >= 0),
	created      DATETIME NOT NULL
);

CREATE TABLE group_members (
	group_id INTEGER  NOT NULL REFERENCES chat_groups (id) ON DELETE CASCADE,
	user     TEXT     NOT NULL REFERENCES users (name) ON DELETE CASCADE,
	role     TEXT     NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
	joined   DATETIME NOT NULL,
	PRIMARY KEY (group_id, user)
) WITHOUT ROWID;

CREATE INDEX group_members_user ON group_members (user);

-- Clustered by (conversation, seq): appends go to the end of a conversation
-- and history pages are range scans. The second index finds retried sends.
CREATE TABLE messages (
	conversation  TEXT     NOT NULL CHECK (length(conversation) <= 67),
	seq           INTEGER  NOT NULL CHECK (seq > 0),
	sender        TEXT     NOT NULL REFERENCES users (name),
	recipient     TEXT     REFERENCES users (name),
	client_msg_id TEXT     NOT NULL CHECK (length(client_msg_id) <= 64),
	body          TEXT     NOT NULL CHECK (octet_length(body) <= 1048576),
	created       DATETIME NOT NULL,
	PRIMARY KEY (conversation, seq),
	UNIQUE (sender, client_msg_id)
) WITHOUT ROWID;

CREATE TABLE read_markers (
	user         TEXT    NOT NULL REFERENCES users (name) ON DELETE CASCADE,
	conversation TEXT    NOT NULL,
	seq          INTEGER NOT NULL CHECK (seq >= 0),
	PRIMARY KEY (user, conversation)
) WITHOUT ROWID;

-- Deleting a group deletes its conversation's markers.
CREATE INDEX read_markers_conversation ON read_markers (conversation);
