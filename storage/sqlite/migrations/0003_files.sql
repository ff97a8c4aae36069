-- Records of shared files; their bytes live outside the database, named by
-- sha256. A file goes to one user or to one group, never both. Deleting a
-- group deletes its files' records. Each recipient column leads an index in
-- list order, so every branch of a file listing is one range scan.

CREATE TABLE files (
	id       TEXT     NOT NULL PRIMARY KEY CHECK (length(id) <= 26),
	sha256   TEXT     NOT NULL CHECK (length(sha256) <= 64),
	name     TEXT     NOT NULL CHECK (length(name) <= 255),
	type     TEXT     NOT NULL CHECK (length(type) <= 127),
	size     INTEGER  NOT NULL CHECK (size >= 0),
	sender   TEXT     NOT NULL REFERENCES users (name),
	receiver TEXT     REFERENCES users (name),
	group_id INTEGER  REFERENCES chat_groups (id) ON DELETE CASCADE,
	created  DATETIME NOT NULL,
	CHECK ((receiver IS NULL) <> (group_id IS NULL))
) WITHOUT ROWID;

-- size last: the quota sum reads this index alone.
CREATE INDEX files_sender ON files (sender, created, id, size);
CREATE INDEX files_receiver ON files (receiver, created, id);
CREATE INDEX files_group ON files (group_id, created, id);
