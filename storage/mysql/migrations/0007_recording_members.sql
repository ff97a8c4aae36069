-- Who may get a recording: those who were in its meeting while it recorded
-- (the joined members at its start and whoever joined before it stopped),
-- kept as they were then. A meeting's members change afterwards (invited
-- later, kicked, left), and who was not there while it recorded must not
-- get it, so the current meeting_members rows cannot say who may.
--
-- The foreign key to recordings has no ON DELETE, as recordings has none to
-- meetings: nothing deletes a recording, and what one day does, with its
-- files, should say what becomes of these rows rather than leave it to a
-- cascade. A user's rows go with the user, as their meeting_members rows
-- do. The other half of a user's listing, the meetings they host, reads
-- meetings_host, whose entries end in the primary key, id.

CREATE TABLE IF NOT EXISTS recording_members (
	recording_id BIGINT      NOT NULL,
	user         VARCHAR(32) NOT NULL,
	PRIMARY KEY (recording_id, user),
	KEY recording_members_user (user, recording_id), -- a user's recordings, newest first, for their listing
	CONSTRAINT recording_members_recording_fk FOREIGN KEY (recording_id) REFERENCES recordings (id),
	CONSTRAINT recording_members_user_fk FOREIGN KEY (user) REFERENCES users (name) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
