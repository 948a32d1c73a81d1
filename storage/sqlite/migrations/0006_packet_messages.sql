-- Every group message that shows a packet, and whether it shows its latest state.
-- `wanted` grows whenever what the message should show changes (the triggers
-- below); `shown` is the version Telegram last accepted. A message is stale
-- while shown < wanted, so a restart, or another process, knows what to edit.
-- `current`: the packet's newest message (Send again leaves older ones behind,
-- which point to it). One process at a time edits a message: the lease.
CREATE TABLE packet_messages (
    chat_id      INTEGER NOT NULL,
    message_id   INTEGER NOT NULL,
    packet_id    TEXT NOT NULL REFERENCES packets(id),
    wanted       INTEGER NOT NULL DEFAULT 1,
    shown        INTEGER NOT NULL DEFAULT 0,
    current      INTEGER NOT NULL DEFAULT 1 CHECK (current IN (0, 1)),
    gone         INTEGER NOT NULL DEFAULT 0 CHECK (gone IN (0, 1)),
    lease_owner  TEXT,
    lease_until  INTEGER NOT NULL DEFAULT 0,
    edited_at    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (chat_id, message_id),
    CHECK (shown <= wanted)
);
CREATE INDEX packet_messages_packet ON packet_messages(packet_id);
CREATE INDEX packet_messages_stale ON packet_messages(packet_id)
    WHERE shown < wanted AND gone = 0;
-- A share changes what the packet's newest message shows; the end of the
-- packet changes what every one of its messages shows.
CREATE TRIGGER packet_messages_follow_shares AFTER UPDATE OF claimed_count ON packets
WHEN NEW.claimed_count <> OLD.claimed_count
BEGIN
    UPDATE packet_messages SET wanted = wanted + 1 WHERE packet_id = NEW.id AND current = 1;
END;
CREATE TRIGGER packet_messages_follow_status AFTER UPDATE OF status ON packets
WHEN NEW.status <> OLD.status
BEGIN
    UPDATE packet_messages SET wanted = wanted + 1 WHERE packet_id = NEW.id;
END;
-- Messages posted before this table existed: live packets and packets that
-- ended in the last day are shown once more in their latest state.
INSERT INTO packet_messages(chat_id, message_id, packet_id, wanted, shown)
SELECT chat_id, message_id, id, 1,
       CASE WHEN status = 'live'
                 OR COALESCE(finished_at, expires_at) > CAST(strftime('%s', 'now') AS INTEGER) * 1000 - 86400000
            THEN 0 ELSE 1 END
FROM packets WHERE message_id IS NOT NULL;
