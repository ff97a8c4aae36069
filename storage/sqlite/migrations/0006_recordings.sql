-- Recordings of meetings. While a recording runs the server writes each
-- track into a file; when it stops, the row says which files it made: tracks
-- is a JSON array of storage.RecordingTrack, always read and written whole
-- and never queried inside, so it is text (up to 16 MiB, what MySQL's
-- MEDIUMTEXT holds), not rows of a table of its own.
-- tracks and size are NULL while the recording runs and set when it stops,
-- together with stopped, so a half-stopped row cannot exist.
--
-- A meeting has at most one recording running: the partial unique index
-- covers running recordings only, so any number of stopped ones stay. The
-- foreign key to meetings has no ON DELETE: a recording's row is the only
-- record of files on disk, and a cascade would orphan them silently.
-- AUTOINCREMENT never hands an id out again, so an id names one recording
-- for good.

CREATE TABLE recordings (
	id         INTEGER  NOT NULL PRIMARY KEY AUTOINCREMENT,
	meeting_id INTEGER  NOT NULL REFERENCES meetings (id),
	started    DATETIME NOT NULL,
	stopped    DATETIME,
	tracks     TEXT     CHECK (json_valid(tracks) AND octet_length(tracks) <= 16777215),
	size       INTEGER  CHECK (size >= 0),
	CHECK ((stopped IS NULL) = (tracks IS NULL) AND (stopped IS NULL) = (size IS NULL))
);

CREATE UNIQUE INDEX recordings_running_meeting ON recordings (meeting_id) WHERE stopped IS NULL;
-- Running recordings by id, for a server starting again: without it the
-- planner scans the table in id order rather than sort the few rows of the
-- index above.
CREATE INDEX recordings_running ON recordings (id) WHERE stopped IS NULL;
-- A meeting's recordings by id, for a user's listing of recordings.
CREATE INDEX recordings_meeting ON recordings (meeting_id, id);
