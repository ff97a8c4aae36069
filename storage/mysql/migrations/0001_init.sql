-- Accounts, login sessions and friendships. Times are UTC DATETIME(6);
-- utf8mb4_bin makes names compare and sort byte-wise, as in SQLite.

CREATE TABLE IF NOT EXISTS users (
	name          VARCHAR(32)  NOT NULL,
	email         VARCHAR(254) NOT NULL,
	password_hash VARCHAR(255) NOT NULL,
	created       DATETIME(6)  NOT NULL,
	PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS sessions (
	token_hash BINARY(32)  NOT NULL,
	user       VARCHAR(32) NOT NULL,
	created    DATETIME(6) NOT NULL,
	expires    DATETIME(6) NOT NULL,
	PRIMARY KEY (token_hash),
	KEY sessions_user (user),
	KEY sessions_expires (expires),
	CONSTRAINT sessions_user_fk FOREIGN KEY (user) REFERENCES users (name) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS friends (
	user    VARCHAR(32) NOT NULL,
	friend  VARCHAR(32) NOT NULL,
	state   VARCHAR(9)  NOT NULL,
	created DATETIME(6) NOT NULL,
	PRIMARY KEY (user, friend),
	KEY friends_friend (friend),
	CONSTRAINT friends_user_fk FOREIGN KEY (user) REFERENCES users (name) ON DELETE CASCADE,
	CONSTRAINT friends_friend_fk FOREIGN KEY (friend) REFERENCES users (name) ON DELETE CASCADE,
	CONSTRAINT friends_state CHECK (state IN ('requested', 'pending', 'accepted'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
