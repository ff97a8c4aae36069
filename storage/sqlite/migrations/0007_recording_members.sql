-- Who may get a recording: those who were in its meeting while it recorded
-- (the joined members at its start and whoever joined before it stopped),
-- kept as they were then. A meeting's members change afterwards (invited
-- later, kicked, left), and who was not there while it recorded must not
-- get it, so the current meeting_members rows cannot say who may.
--
-- The foreign key to recordings has no ON DELETE, as recordings has none to
-- meetings: nothing deletes a recording, and what one day does, with its
-- files, should say what becomes of these rows rather than leave it to a
-- cascade. A user's rows go with the user, as their meeting_members rows do.

CREATE TABLE recording_members (
	recording_id INTEGER NOT NULL REFERENCES recordings (id),
	user         TEXT    NOT NULL REFERENCES users (name) ON DELETE CASCADE,
	PRIMARY KEY (recording_id, user)
) WITHOUT ROWID;

-- The recordings of a user, newest first, for their listing; it also
-- serves the foreign key's lookups when a user is deleted.
CREATE INDEX recording_members_user ON recording_members (user, recording_id);
-- The meetings a user hosts, for the other half of that listing. Its
-- entries end in the rowid, which is meetings.id.
CREATE INDEX meetings_host ON meetings (host);
