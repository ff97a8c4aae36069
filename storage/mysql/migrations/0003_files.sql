-- Records of shared files; their bytes live outside the database, named by
-- sha256. A file goes to one user or to one group, never both. Deleting a
-- group deletes its files' records. Each recipient column leads an index in
-- list order, so every branch of a file listing is one range scan.

CREATE TABLE IF NOT EXISTS files (
	id       CHAR(26)     NOT NULL,
	sha256   CHAR(64)     NOT NULL,
	name     VARCHAR(255) NOT NULL,
	type     VARCHAR(127) NOT NULL,
	size     BIGINT       NOT NULL,
	sender   VARCHAR(32)  NOT NULL,
	receiver VARCHAR(32)  NULL,
	group_id BIGINT       NULL,
	created  DATETIME(6)  NOT NULL,
	PRIMARY KEY (id),
	KEY files_sender (sender, created, id, size), -- size last: the quota sum reads this index alone
	KEY files_receiver (receiver, created, id),
	KEY files_group (group_id, created, id),
	CONSTRAINT files_sender_fk FOREIGN KEY (sender) REFERENCES users (name),
	CONSTRAINT files_receiver_fk FOREIGN KEY (receiver) REFERENCES users (name),
	CONSTRAINT files_group_fk FOREIGN KEY (group_id) REFERENCES chat_groups (id) ON DELETE CASCADE,
	CONSTRAINT files_size CHECK (size >= 0),
	CONSTRAINT files_one_recipient CHECK ((receiver IS NULL) <> (group_id IS NULL))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
