-- Recordings of meetings. While a recording runs the server writes each
-- track into a file; when it stops, the row says which files it made: tracks
-- is a JSON array of storage.RecordingTrack, always read and written whole
-- and never queried inside, so it is text (MEDIUMTEXT, up to 16 MiB, as on
-- SQLite), not rows of a table of its own, and not the JSON type, which
-- MySQL rewrites and MariaDB only aliases. tracks and size are NULL while
-- the recording runs and set when it stops, together with stopped, so a
-- half-stopped row cannot exist.
--
-- A meeting has at most one recording running: running_meeting is the
-- meeting while the recording runs and NULL after, and a unique key allows
-- any number of NULLs, so any number of stopped recordings stay. The foreign
-- key to meetings has no ON DELETE (MySQL allows no CASCADE or SET NULL on
-- the base column of a stored generated column anyway): a recording's row is
-- the only record of files on disk, and a cascade would orphan them silently.

CREATE TABLE IF NOT EXISTS recordings (
	id              BIGINT      NOT NULL AUTO_INCREMENT,
	meeting_id      BIGINT      NOT NULL,
	started         DATETIME(6) NOT NULL,
	stopped         DATETIME(6) NULL,
	tracks          MEDIUMTEXT  NULL,
	size            BIGINT      NULL,
	running_meeting BIGINT GENERATED ALWAYS AS (CASE WHEN stopped IS NULL THEN meeting_id END) STORED,
	PRIMARY KEY (id),
	UNIQUE KEY recordings_running_meeting (running_meeting),
	KEY recordings_running (stopped, id), -- running recordings by id, for a server starting again
	KEY recordings_meeting (meeting_id, id), -- a meeting's recordings by id, for a user's listing of recordings
	CONSTRAINT recordings_meeting_fk FOREIGN KEY (meeting_id) REFERENCES meetings (id),
	CONSTRAINT recordings_tracks CHECK (JSON_VALID(tracks)),
	CONSTRAINT recordings_size CHECK (size >= 0),
	CONSTRAINT recordings_stopped CHECK ((stopped IS NULL) = (tracks IS NULL) AND (stopped IS NULL) = (size IS NULL))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
