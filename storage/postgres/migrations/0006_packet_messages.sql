-- Every group message that shows a packet, and whether it shows its latest state
-- (the PostgreSQL twin of storage/sqlite/migrations/0006_packet_messages.sql).
-- `wanted` grows whenever what the message should show changes (the triggers
-- below); `shown` is the version Telegram last accepted. A message is stale
-- while shown < wanted, so a restart, or another process, knows what to edit.
-- `current`: the packet's newest message (Send again leaves older ones behind,
-- which point to it). One process at a time edits a message: the lease.
CREATE TABLE packet_messages (
    chat_id      BIGINT NOT NULL,
    message_id   BIGINT NOT NULL,
    packet_id    TEXT NOT NULL REFERENCES packets(id),
    wanted       BIGINT NOT NULL DEFAULT 1,
    shown        BIGINT NOT NULL DEFAULT 0,
    current      INTEGER NOT NULL DEFAULT 1 CHECK (current IN (0, 1)),
    gone         INTEGER NOT NULL DEFAULT 0 CHECK (gone IN (0, 1)),
    lease_owner  TEXT,
    lease_until  BIGINT NOT NULL DEFAULT 0,
    edited_at    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (chat_id, message_id),
    CHECK (shown <= wanted)
);
CREATE INDEX packet_messages_packet ON packet_messages(packet_id);
CREATE INDEX packet_messages_stale ON packet_messages(packet_id)
    WHERE shown < wanted AND gone = 0;
-- A share changes what the packet's newest message shows; the end of the
-- packet changes what every one of its messages shows.
CREATE FUNCTION packet_messages_follow_shares() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE packet_messages SET wanted = wanted + 1 WHERE packet_id = NEW.id AND current = 1;
    RETURN NULL;
END $$;
CREATE TRIGGER packet_messages_follow_shares AFTER UPDATE OF claimed_count ON packets
    FOR EACH ROW WHEN (NEW.claimed_count <> OLD.claimed_count)
    EXECUTE FUNCTION packet_messages_follow_shares();
CREATE FUNCTION packet_messages_follow_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE packet_messages SET wanted = wanted + 1 WHERE packet_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER packet_messages_follow_status AFTER UPDATE OF status ON packets
    FOR EACH ROW WHEN (NEW.status <> OLD.status)
    EXECUTE FUNCTION packet_messages_follow_status();
-- Messages posted before this table existed: live packets and packets that
-- ended in the last day are shown once more in their latest state.
INSERT INTO packet_messages(chat_id, message_id, packet_id, wanted, shown)
SELECT chat_id, message_id, id, 1,
       CASE WHEN status = 'live'
                 OR COALESCE(finished_at, expires_at)
                    > (extract(epoch FROM now()) * 1000)::BIGINT - 86400000
            THEN 0 ELSE 1 END
FROM packets WHERE message_id IS NOT NULL;
