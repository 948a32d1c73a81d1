-- Wallets and insight: presses the gate turned away, per chat, flushed from
-- memory every minute and at shutdown; /grant finds members by @username.
CREATE TABLE turned_away (
    chat_id  BIGINT PRIMARY KEY,
    presses  BIGINT NOT NULL DEFAULT 0 CHECK (presses >= 0)
);
CREATE INDEX members_username_lower ON members(lower(username));
