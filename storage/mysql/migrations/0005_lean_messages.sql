-- messages keeps the two keys the data model names, (conversation, seq) and
-- (sender, client_msg_id), and nothing else on the write path: the foreign
-- keys to users and the index on recipient that one of them needed cost
-- every INSERT two lookups and a third B-tree (a third of MariaDB's work per
-- message, measured in bench/RESULTS.md), and nothing reads by recipient.
-- Users are never deleted, and AppendMessages checks that a batch's senders
-- and recipients exist (caching the names it has seen), so the guarantee
-- the foreign keys gave stays. One ALTER, so that it applies whole or not.
ALTER TABLE messages
	DROP FOREIGN KEY messages_sender_fk,
	DROP FOREIGN KEY messages_recipient_fk,
	DROP INDEX messages_recipient;
