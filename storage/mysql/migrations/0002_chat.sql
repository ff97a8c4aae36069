-- Groups, their members, chat messages and read markers.
--
-- The table is chat_groups, not groups: GROUPS is a reserved word in MySQL 8.
-- InnoDB keeps the auto-increment counter across restarts (MySQL 8, MariaDB
-- 10.2.4), so a deleted group's id is never handed out again: a group's
-- conversation is named by its id, and a group created again under an old
-- name must start afresh.

CREATE TABLE IF NOT EXISTS chat_groups (
	id           BIGINT      NOT NULL AUTO_INCREMENT,
	name         VARCHAR(64) NOT NULL,
	owner        VARCHAR(32) NOT NULL,
	member_count INT         NOT NULL,
	created      DATETIME(6) NOT NULL,
	PRIMARY KEY (id),
	UNIQUE KEY chat_groups_name (name),
	KEY chat_groups_owner (owner),
	CONSTRAINT chat_groups_owner_fk FOREIGN KEY (owner) REFERENCES users (name),
	CONSTRAINT chat_groups_member_count CHECK (member_count >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS group_members (
	group_id BIGINT      NOT NULL,
	user     VARCHAR(32) NOT NULL,
	role     VARCHAR(6)  NOT NULL,
	joined   DATETIME(6) NOT NULL,
	PRIMARY KEY (group_id, user),
	KEY group_members_user (user),
	CONSTRAINT group_members_group_fk FOREIGN KEY (group_id) REFERENCES chat_groups (id) ON DELETE CASCADE,
	CONSTRAINT group_members_user_fk FOREIGN KEY (user) REFERENCES users (name) ON DELETE CASCADE,
	CONSTRAINT group_members_role CHECK (role IN ('owner', 'admin', 'member'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Clustered by (conversation, seq): appends go to the end of a conversation
-- and history pages are range scans. The unique key finds retried sends.
-- MEDIUMTEXT holds the 1 MiB the CHECK allows (TEXT stops at 64 KiB).
CREATE TABLE IF NOT EXISTS messages (
	conversation  VARCHAR(67) NOT NULL,
	seq           BIGINT      NOT NULL,
	sender        VARCHAR(32) NOT NULL,
	recipient     VARCHAR(32) NULL,
	client_msg_id VARCHAR(64) NOT NULL,
	body          MEDIUMTEXT  NOT NULL,
	created       DATETIME(6) NOT NULL,
	PRIMARY KEY (conversation, seq),
	UNIQUE KEY messages_client_msg_id (sender, client_msg_id),
	KEY messages_recipient (recipient),
	CONSTRAINT messages_sender_fk FOREIGN KEY (sender) REFERENCES users (name),
	CONSTRAINT messages_recipient_fk FOREIGN KEY (recipient) REFERENCES users (name),
	CONSTRAINT messages_seq CHECK (seq > 0),
	CONSTRAINT messages_body CHECK (LENGTH(body) <= 1048576)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS read_markers (
	user         VARCHAR(32) NOT NULL,
	conversation VARCHAR(67) NOT NULL,
	seq          BIGINT      NOT NULL,
	PRIMARY KEY (user, conversation),
	KEY read_markers_conversation (conversation),
	CONSTRAINT read_markers_user_fk FOREIGN KEY (user) REFERENCES users (name) ON DELETE CASCADE,
	CONSTRAINT read_markers_seq CHECK (seq >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
