-- Wallets, a double-entry ledger, packets and shares.
CREATE TABLE members (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    username    TEXT,
    created_at  INTEGER NOT NULL
);
-- Every account's balance; 'mint' is where granted money comes from and
-- is the only account allowed below zero.
CREATE TABLE accounts (
    id       TEXT PRIMARY KEY,
    balance  INTEGER NOT NULL DEFAULT 0,
    CHECK (id = 'mint' OR balance >= 0)
);
-- One row moves `amount` from `src` to `dst`: debit and credit together.
CREATE TABLE transfers (
    id         INTEGER PRIMARY KEY,
    key        TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    src        TEXT NOT NULL REFERENCES accounts(id),
    dst        TEXT NOT NULL REFERENCES accounts(id),
    amount     INTEGER NOT NULL CHECK (amount > 0),
    packet_id  TEXT,
    memo       TEXT NOT NULL DEFAULT '',
    at         INTEGER NOT NULL,
    CHECK (src <> dst)
);
CREATE INDEX transfers_src ON transfers(src, id);
CREATE INDEX transfers_dst ON transfers(dst, id);
CREATE TABLE packets (
    id              TEXT PRIMARY KEY,
    key             TEXT NOT NULL UNIQUE,
    chat_id         INTEGER NOT NULL,
    message_id      INTEGER,
    sender_id       INTEGER NOT NULL,
    sender_name     TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('lucky', 'fixed')),
    rule            TEXT NOT NULL CHECK (rule IN ('fixed', 'double_mean', 'segment')),
    total           INTEGER NOT NULL CHECK (total > 0),
    count           INTEGER NOT NULL CHECK (count > 0 AND total >= count),
    cap             INTEGER NOT NULL CHECK (cap > 0),
    greeting        TEXT NOT NULL DEFAULT '',
    recipient_id    INTEGER,
    recipient_name  TEXT,
    seed            BLOB NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    status          TEXT NOT NULL DEFAULT 'live'
                    CHECK (status IN ('live', 'finished', 'expired')),
    finished_at     INTEGER,
    claimed_count   INTEGER NOT NULL DEFAULT 0,
    claimed_amount  INTEGER NOT NULL DEFAULT 0,
    refunded        INTEGER NOT NULL DEFAULT 0,
    CHECK (claimed_count BETWEEN 0 AND count),
    CHECK (claimed_amount BETWEEN 0 AND total),
    CHECK (claimed_amount + refunded <= total)
);
CREATE INDEX packets_due ON packets(status, expires_at);
CREATE INDEX packets_chat ON packets(chat_id, created_at);
CREATE INDEX packets_sender ON packets(sender_id, created_at);
CREATE TABLE shares (
    packet_id    TEXT NOT NULL REFERENCES packets(id),
    position     INTEGER NOT NULL CHECK (position > 0),
    member_id    INTEGER NOT NULL,
    member_name  TEXT NOT NULL,
    amount       INTEGER NOT NULL CHECK (amount > 0),
    taken_at     INTEGER NOT NULL,
    PRIMARY KEY (packet_id, position),
    UNIQUE (packet_id, member_id)
);
CREATE INDEX shares_member ON shares(member_id, taken_at);
-- The database, not Python, keeps a packet's counters and refuses a share
-- out of order, into a packet that is not live, beyond its count (the
-- position check) or beyond its total (the packets CHECK on claimed_amount).
CREATE TRIGGER shares_in_order BEFORE INSERT ON shares
BEGIN
    SELECT RAISE(ABORT, 'a share must be the next one of a live packet')
    WHERE NOT EXISTS (SELECT 1 FROM packets WHERE id = NEW.packet_id
                      AND status = 'live' AND claimed_count + 1 = NEW.position);
END;
CREATE TRIGGER shares_count_toward_packet AFTER INSERT ON shares
BEGIN
    UPDATE packets SET claimed_count = claimed_count + 1,
                       claimed_amount = claimed_amount + NEW.amount
    WHERE id = NEW.packet_id;
END;
CREATE TRIGGER shares_are_final BEFORE UPDATE ON shares
BEGIN
    SELECT RAISE(ABORT, 'shares cannot change');
END;
