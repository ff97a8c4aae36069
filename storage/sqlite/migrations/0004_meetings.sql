-- Meetings, their members and the media sources joined members registered.
--
-- A live meeting holds its multicast group alone: the partial unique index
-- covers live meetings only, so an ended meeting's group can be handed out
-- again while its row stays. AUTOINCREMENT never hands out an id again: a
-- meeting's chat is the conversation named by its id.

CREATE TABLE meetings (
	id           INTEGER  NOT NULL PRIMARY KEY AUTOINCREMENT,
	name         TEXT     NOT NULL CHECK (length(name) <= 64),
	host         TEXT     NOT NULL REFERENCES users (name),
	kind         TEXT     NOT NULL CHECK (kind IN ('meeting', 'call')),
	state        TEXT     NOT NULL CHECK (state IN ('live', 'ended')),
	mcast_group  TEXT     NOT NULL CHECK (length(mcast_group) <= 15),
	text_port    INTEGER  NOT NULL CHECK (text_port BETWEEN 1 AND 65535),
	audio_port   INTEGER  NOT NULL CHECK (audio_port BETWEEN 1 AND 65535),
	video_port   INTEGER  NOT NULL CHECK (video_port BETWEEN 1 AND 65535),
	screen_port  INTEGER  NOT NULL CHECK (screen_port BETWEEN 1 AND 65535),
	caption_port INTEGER  NOT NULL CHECK (caption_port BETWEEN 1 AND 65535),
	created      DATETIME NOT NULL,
	ended        DATETIME,
	CHECK ((state = 'ended') = (ended IS NOT NULL))
);

CREATE UNIQUE INDEX meetings_live_group ON meetings (mcast_group) WHERE state = 'live';
-- Live meetings by id, for a server starting again.
CREATE INDEX meetings_live ON meetings (id) WHERE state = 'live';

CREATE TABLE meeting_members (
	meeting_id INTEGER  NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
	user       TEXT     NOT NULL REFERENCES users (name) ON DELETE CASCADE,
	role       TEXT     NOT NULL CHECK (role IN ('host', 'member')),
	status     TEXT     NOT NULL CHECK (status IN ('invited', 'joined', 'declined', 'left', 'kicked')),
	updated    DATETIME NOT NULL,
	PRIMARY KEY (meeting_id, user)
) WITHOUT ROWID;

CREATE INDEX meeting_members_user ON meeting_members (user);

-- A source belongs to its member's row. The SSRC is unique in a meeting, and
-- an address with an SSRC names one source across live meetings: the relay
-- demultiplexes packets by that pair. Only live meetings have sources (ending
-- a meeting deletes them), so a plain unique key says it.
CREATE TABLE media_sources (
	meeting_id INTEGER NOT NULL,
	user       TEXT    NOT NULL,
	track      TEXT    NOT NULL CHECK (track IN ('text', 'audio', 'video', 'screen', 'caption')),
	source     TEXT    NOT NULL CHECK (length(source) <= 64),
	ssrc       INTEGER NOT NULL CHECK (ssrc BETWEEN 0 AND 4294967295),
	PRIMARY KEY (meeting_id, ssrc),
	UNIQUE (source, ssrc),
	FOREIGN KEY (meeting_id, user) REFERENCES meeting_members (meeting_id, user) ON DELETE CASCADE
) WITHOUT ROWID;

-- In list order; also a member's sources, to delete them.
CREATE INDEX media_sources_member ON media_sources (meeting_id, user, track, ssrc);
