-- Per-chat choices of docs/rules.md §2 and §4: the lucky split rule and the amount below
-- which a packet is sent without a draft. NULL follows the deployment's .env.
ALTER TABLE chat_settings ADD COLUMN lucky_rule TEXT
    CHECK (lucky_rule IS NULL OR lucky_rule IN ('double_mean', 'segment'));
ALTER TABLE chat_settings ADD COLUMN draft_skip_below BIGINT
    CHECK (draft_skip_below IS NULL OR draft_skip_below >= 0);
