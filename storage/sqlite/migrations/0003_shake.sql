-- Shake campaigns (docs/rules.md §7): a pool held in escrow account 'c:<id>', and its wins.
CREATE TABLE campaigns (
    id           TEXT PRIMARY KEY,
    key          TEXT NOT NULL UNIQUE,
    chat_id      INTEGER NOT NULL,
    message_id   INTEGER,
    funder_id    INTEGER NOT NULL,
    funder_name  TEXT NOT NULL,
    pool         INTEGER NOT NULL CHECK (pool > 0),
    count        INTEGER NOT NULL CHECK (count > 0 AND pool >= 200 * count),
    mode         TEXT NOT NULL CHECK (mode IN ('tiers', 'bounded')),
    tiers        TEXT NOT NULL,
    seed         BLOB NOT NULL,
    created_at   INTEGER NOT NULL,
    ends_at      INTEGER NOT NULL CHECK (ends_at > created_at),
    interval_ms  INTEGER NOT NULL CHECK (interval_ms >= 0),
    max_wins     INTEGER NOT NULL CHECK (max_wins > 0),
    status       TEXT NOT NULL DEFAULT 'live'
                 CHECK (status IN ('live', 'finished', 'stopped', 'expired')),
    ended_at     INTEGER,
    won_count    INTEGER NOT NULL DEFAULT 0,
    won_amount   INTEGER NOT NULL DEFAULT 0,
    refunded     INTEGER NOT NULL DEFAULT 0 CHECK (refunded >= 0),
    CHECK (won_count BETWEEN 0 AND count),
    CHECK (won_amount BETWEEN 0 AND pool),
    CHECK (won_amount + refunded <= pool),
    CHECK (status = 'live' OR ended_at IS NOT NULL)
);
-- At most one live campaign per chat.
CREATE UNIQUE INDEX campaigns_one_live ON campaigns(chat_id) WHERE status = 'live';
CREATE INDEX campaigns_due ON campaigns(status, ends_at);
CREATE TABLE campaign_wins (
    campaign_id  TEXT NOT NULL REFERENCES campaigns(id),
    position     INTEGER NOT NULL CHECK (position > 0),
    member_id    INTEGER NOT NULL,
    member_name  TEXT NOT NULL,
    amount       INTEGER NOT NULL CHECK (amount >= 200),
    jackpot      INTEGER NOT NULL DEFAULT 0 CHECK (jackpot IN (0, 1)),
    at           INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, position)
);
CREATE INDEX campaign_wins_member ON campaign_wins(campaign_id, member_id);
-- The database, not Python, refuses a prize beyond the count, the pool or a
-- member's win limit.
CREATE TRIGGER campaign_wins_fit BEFORE INSERT ON campaign_wins
BEGIN
    SELECT RAISE(ABORT, 'prize beyond the campaign count')
    WHERE NEW.position > (SELECT count FROM campaigns WHERE id = NEW.campaign_id);
    SELECT RAISE(ABORT, 'prizes beyond the campaign pool')
    WHERE NEW.amount + (SELECT COALESCE(SUM(amount), 0) FROM campaign_wins
                        WHERE campaign_id = NEW.campaign_id)
          > (SELECT pool FROM campaigns WHERE id = NEW.campaign_id);
    SELECT RAISE(ABORT, 'member beyond the campaign win limit')
    WHERE (SELECT COUNT(*) FROM campaign_wins
           WHERE campaign_id = NEW.campaign_id AND member_id = NEW.member_id)
          >= (SELECT max_wins FROM campaigns WHERE id = NEW.campaign_id);
    SELECT RAISE(ABORT, 'prize for a campaign that is not live')
    WHERE (SELECT status FROM campaigns WHERE id = NEW.campaign_id) <> 'live';
END;
CREATE TRIGGER campaign_wins_are_final BEFORE UPDATE ON campaign_wins
BEGIN
    SELECT RAISE(ABORT, 'wins cannot change');
END;
