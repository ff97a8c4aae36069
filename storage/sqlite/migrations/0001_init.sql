-- Accounts, login sessions and friendships. Times are DATETIME so the driver
-- converts them; they are stored as integer microseconds since the epoch,
-- UTC. The length checks mirror the MySQL schema's column sizes.

CREATE TABLE users (
	name          TEXT     NOT NULL PRIMARY KEY CHECK (length(name) <= 32),
	email         TEXT     NOT NULL CHECK (length(email) <= 254),
	password_hash TEXT     NOT NULL CHECK (length(password_hash) <= 255),
	created       DATETIME NOT NULL
);

CREATE TABLE sessions (
	token_hash BLOB     NOT NULL PRIMARY KEY CHECK (length(token_hash) = 32),
	user       TEXT     NOT NULL REFERENCES users (name) ON DELETE CASCADE,
	created    DATETIME NOT NULL,
	expires    DATETIME NOT NULL
) WITHOUT ROWID;

CREATE INDEX sessions_user ON sessions (user);
CREATE INDEX sessions_expires ON sessions (expires);

CREATE TABLE friends (
	user    TEXT     NOT NULL REFERENCES users (name) ON DELETE CASCADE,
	friend  TEXT     NOT NULL REFERENCES users (name) ON DELETE CASCADE,
	state   TEXT     NOT NULL CHECK (state IN ('requested', 'pending', 'accepted')),
	created DATETIME NOT NULL,
	PRIMARY KEY (user, friend)
) WITHOUT ROWID;

-- Deleting a user looks up the rows naming it as friend.
CREATE INDEX friends_friend ON friends (friend);
