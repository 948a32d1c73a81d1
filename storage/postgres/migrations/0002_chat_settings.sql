-- Per-chat settings (/lang override) and packet drafts (docs/rules.md §2), owned by the bot.
CREATE TABLE chat_settings (
    chat_id     BIGINT PRIMARY KEY,
    lang        TEXT CHECK (lang IS NULL OR lang IN ('en', 'zh')),
    updated_at  BIGINT NOT NULL
);
-- A draft lives from the /hongbao command to Send or Cancel; keyed by the command
-- message so a replayed command never makes a second draft.
CREATE TABLE drafts (
    chat_id             BIGINT NOT NULL,
    command_message_id  BIGINT NOT NULL,
    message_id          BIGINT,
    sender_id           BIGINT NOT NULL,
    sender_name         TEXT NOT NULL,
    sender_username     TEXT,
    kind                TEXT NOT NULL CHECK (kind IN ('lucky', 'fixed')),
    amount              BIGINT NOT NULL CHECK (amount > 0),
    count               BIGINT NOT NULL CHECK (count > 0),
    greeting            TEXT NOT NULL DEFAULT '',
    recipient_id        BIGINT,
    recipient_name      TEXT,
    recipient_username  TEXT,
    chat_members        BIGINT,
    lang                TEXT NOT NULL,
    total_changed       INTEGER NOT NULL DEFAULT 0,
    status              TEXT NOT NULL DEFAULT 'open'
                        CHECK (status IN ('open', 'sent', 'cancelled')),
    packet_id           TEXT,
    created_at          BIGINT NOT NULL,
    PRIMARY KEY (chat_id, command_message_id)
);
CREATE UNIQUE INDEX drafts_message ON drafts(chat_id, message_id) WHERE message_id IS NOT NULL;
CREATE INDEX drafts_packet ON drafts(packet_id) WHERE packet_id IS NOT NULL;
