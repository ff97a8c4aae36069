-- Meetings, their members and the media sources joined members registered.
--
-- A live meeting holds its multicast group alone: live_group is the group
-- while the meeting is live and NULL after, and a unique key allows any
-- number of NULLs, so an ended meeting's group can be handed out again while
-- its row stays. InnoDB keeps the auto-increment counter across restarts: a
-- meeting's chat is the conversation named by its id.

CREATE TABLE IF NOT EXISTS meetings (
	id           BIGINT            NOT NULL AUTO_INCREMENT,
	name         VARCHAR(64)       NOT NULL,
	host         VARCHAR(32)       NOT NULL,
	kind         VARCHAR(7)        NOT NULL,
	state        VARCHAR(5)        NOT NULL,
	mcast_group  VARCHAR(15)       NOT NULL,
	text_port    SMALLINT UNSIGNED NOT NULL,
	audio_port   SMALLINT UNSIGNED NOT NULL,
	video_port   SMALLINT UNSIGNED NOT NULL,
	screen_port  SMALLINT UNSIGNED NOT NULL,
	caption_port SMALLINT UNSIGNED NOT NULL,
	created      DATETIME(6)       NOT NULL,
	ended        DATETIME(6)       NULL,
	live_group   VARCHAR(15) GENERATED ALWAYS AS (CASE WHEN state = 'live' THEN mcast_group END) STORED,
	PRIMARY KEY (id),
	UNIQUE KEY meetings_live_group (live_group),
	KEY meetings_live (state, id), -- live meetings by id, for a server starting again
	KEY meetings_host (host),
	CONSTRAINT meetings_host_fk FOREIGN KEY (host) REFERENCES users (name),
	CONSTRAINT meetings_kind CHECK (kind IN ('meeting', 'call')),
	CONSTRAINT meetings_state CHECK (state IN ('live', 'ended')),
	CONSTRAINT meetings_ended CHECK ((state = 'ended') = (ended IS NOT NULL)),
	CONSTRAINT meetings_ports CHECK (text_port > 0 AND audio_port > 0 AND video_port > 0 AND screen_port > 0 AND caption_port > 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS meeting_members (
	meeting_id BIGINT      NOT NULL,
	user       VARCHAR(32) NOT NULL,
	role       VARCHAR(6)  NOT NULL,
	status     VARCHAR(8)  NOT NULL,
	updated    DATETIME(6) NOT NULL,
	PRIMARY KEY (meeting_id, user),
	KEY meeting_members_user (user),
	CONSTRAINT meeting_members_meeting_fk FOREIGN KEY (meeting_id) REFERENCES meetings (id) ON DELETE CASCADE,
	CONSTRAINT meeting_members_user_fk FOREIGN KEY (user) REFERENCES users (name) ON DELETE CASCADE,
	CONSTRAINT meeting_members_role CHECK (role IN ('host', 'member')),
	CONSTRAINT meeting_members_status CHECK (status IN ('invited', 'joined', 'declined', 'left', 'kicked'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A source belongs to its member's row. The SSRC is unique in a meeting, and
-- an address with an SSRC names one source across live meetings: the relay
-- demultiplexes packets by that pair. Only live meetings have sources (ending
-- a meeting deletes them), so a plain unique key says it.
CREATE TABLE IF NOT EXISTS media_sources (
	meeting_id BIGINT       NOT NULL,
	user       VARCHAR(32)  NOT NULL,
	track      VARCHAR(7)   NOT NULL,
	source     VARCHAR(64)  NOT NULL,
	ssrc       INT UNSIGNED NOT NULL,
	PRIMARY KEY (meeting_id, ssrc),
	UNIQUE KEY media_sources_source (source, ssrc),
	KEY media_sources_member (meeting_id, user, track, ssrc), -- list order; a member's sources
	CONSTRAINT media_sources_member_fk FOREIGN KEY (meeting_id, user)
		REFERENCES meeting_members (meeting_id, user) ON DELETE CASCADE,
	CONSTRAINT media_sources_track CHECK (track IN ('text', 'audio', 'video', 'screen', 'caption'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
