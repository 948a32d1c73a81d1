-- Who may open (docs/rules.md): a chat's rules, the joins the bot witnessed,
-- blocked members, password packets and who unlocked them.
-- NULL rule columns follow the deployment's .env defaults.
ALTER TABLE chat_settings ADD COLUMN newcomer_hours BIGINT
    CHECK (newcomer_hours IS NULL OR newcomer_hours >= 0);
ALTER TABLE chat_settings ADD COLUMN premium_only INTEGER
    CHECK (premium_only IS NULL OR premium_only IN (0, 1));
ALTER TABLE chat_settings ADD COLUMN daily_send_limit BIGINT
    CHECK (daily_send_limit IS NULL OR daily_send_limit >= 0);
ALTER TABLE chat_settings ADD COLUMN personal_packets INTEGER
    CHECK (personal_packets IS NULL OR personal_packets IN (0, 1));
-- The latest join of a member the bot saw (service message or chat_member
-- update); a member with no row was there before the bot and is established.
CREATE TABLE chat_joins (
    chat_id    BIGINT NOT NULL,
    member_id  BIGINT NOT NULL,
    joined_at  BIGINT NOT NULL,
    PRIMARY KEY (chat_id, member_id)
);
CREATE TABLE chat_blocks (
    chat_id     BIGINT NOT NULL,
    member_id   BIGINT NOT NULL,
    name        TEXT NOT NULL,
    blocked_by  BIGINT NOT NULL,
    blocked_at  BIGINT NOT NULL,
    PRIMARY KEY (chat_id, member_id)
);
-- A password packet's phrase ('' for any other packet); the draft keeps it too.
ALTER TABLE packets ADD COLUMN phrase TEXT NOT NULL DEFAULT '';
ALTER TABLE drafts ADD COLUMN phrase TEXT NOT NULL DEFAULT '';
CREATE INDEX packets_message ON packets(chat_id, message_id) WHERE message_id IS NOT NULL;
-- A member who replied a password packet's phrase: for good, across restarts.
CREATE TABLE packet_unlocks (
    packet_id    TEXT NOT NULL REFERENCES packets(id),
    member_id    BIGINT NOT NULL,
    unlocked_at  BIGINT NOT NULL,
    PRIMARY KEY (packet_id, member_id)
);
