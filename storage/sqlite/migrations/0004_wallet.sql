-- Wallets and insight: presses the gate turned away, per chat, flushed from
-- memory every minute and at shutdown; /grant finds members by @username.
CREATE TABLE turned_away (
    chat_id  INTEGER PRIMARY KEY,
    presses  INTEGER NOT NULL DEFAULT 0 CHECK (presses >= 0)
);
CREATE INDEX IF NOT EXISTS members_username_nocase ON members(username COLLATE NOCASE);
