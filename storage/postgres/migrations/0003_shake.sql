-- Shake campaigns (docs/rules.md §7): a pool held in escrow account 'c:<id>', and its wins.
CREATE TABLE campaigns (
    id           TEXT PRIMARY KEY,
    key          TEXT NOT NULL UNIQUE,
    chat_id      BIGINT NOT NULL,
    message_id   BIGINT,
    funder_id    BIGINT NOT NULL,
    funder_name  TEXT NOT NULL,
    pool         BIGINT NOT NULL CHECK (pool > 0),
    count        BIGINT NOT NULL CHECK (count > 0 AND pool >= 200 * count),
    mode         TEXT NOT NULL CHECK (mode IN ('tiers', 'bounded')),
    tiers        TEXT NOT NULL,
    seed         BYTEA NOT NULL,
    created_at   BIGINT NOT NULL,
    ends_at      BIGINT NOT NULL CHECK (ends_at > created_at),
    interval_ms  BIGINT NOT NULL CHECK (interval_ms >= 0),
    max_wins     BIGINT NOT NULL CHECK (max_wins > 0),
    status       TEXT NOT NULL DEFAULT 'live'
                 CHECK (status IN ('live', 'finished', 'stopped', 'expired')),
    ended_at     BIGINT,
    won_count    BIGINT NOT NULL DEFAULT 0,
    won_amount   BIGINT NOT NULL DEFAULT 0,
    refunded     BIGINT NOT NULL DEFAULT 0 CHECK (refunded >= 0),
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
    position     BIGINT NOT NULL CHECK (position > 0),
    member_id    BIGINT NOT NULL,
    member_name  TEXT NOT NULL,
    amount       BIGINT NOT NULL CHECK (amount >= 200),
    jackpot      INTEGER NOT NULL DEFAULT 0 CHECK (jackpot IN (0, 1)),
    at           BIGINT NOT NULL,
    PRIMARY KEY (campaign_id, position)
);
CREATE INDEX campaign_wins_member ON campaign_wins(campaign_id, member_id);
-- The database, not Python, refuses a prize beyond the count, the pool or a
-- member's win limit; the campaign row is locked so two connections agree.
CREATE FUNCTION campaign_wins_fit() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    c campaigns%ROWTYPE;
BEGIN
    SELECT * INTO c FROM campaigns WHERE id = NEW.campaign_id FOR UPDATE;
    IF NEW.position > c.count THEN
        RAISE EXCEPTION 'prize beyond the campaign count' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NEW.amount + (SELECT COALESCE(SUM(amount), 0) FROM campaign_wins
                     WHERE campaign_id = NEW.campaign_id) > c.pool THEN
        RAISE EXCEPTION 'prizes beyond the campaign pool' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF (SELECT COUNT(*) FROM campaign_wins WHERE campaign_id = NEW.campaign_id
        AND member_id = NEW.member_id) >= c.max_wins THEN
        RAISE EXCEPTION 'member beyond the campaign win limit' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF c.status <> 'live' THEN
        RAISE EXCEPTION 'prize for a campaign that is not live' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER campaign_wins_fit BEFORE INSERT ON campaign_wins
    FOR EACH ROW EXECUTE FUNCTION campaign_wins_fit();
CREATE TRIGGER campaign_wins_are_final BEFORE UPDATE ON campaign_wins
    FOR EACH ROW EXECUTE FUNCTION refuse_change('wins');
