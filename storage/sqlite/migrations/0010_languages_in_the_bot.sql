-- Which UI languages exist is the bot's to say (its catalogs), not the schema's:
-- chat_settings.lang loses its CHECK (lang IN ('en', 'zh')), so a new language
-- needs catalogs only. SQLite cannot drop a CHECK, so the table is rebuilt with
-- every other column and constraint as before, and its rows copied over.
CREATE TABLE chat_settings_rebuilt (
    chat_id           INTEGER PRIMARY KEY,
    lang              TEXT CHECK (lang IS NULL OR length(lang) BETWEEN 2 AND 16),
    updated_at        INTEGER NOT NULL,
    lucky_rule        TEXT
        CHECK (lucky_rule IS NULL OR lucky_rule IN ('double_mean', 'segment')),
    draft_skip_below  INTEGER CHECK (draft_skip_below IS NULL OR draft_skip_below >= 0),
    newcomer_hours    INTEGER CHECK (newcomer_hours IS NULL OR newcomer_hours >= 0),
    premium_only      INTEGER CHECK (premium_only IS NULL OR premium_only IN (0, 1)),
    daily_send_limit  INTEGER CHECK (daily_send_limit IS NULL OR daily_send_limit >= 0),
    personal_packets  INTEGER CHECK (personal_packets IS NULL OR personal_packets IN (0, 1))
);
INSERT INTO chat_settings_rebuilt(
    chat_id, lang, updated_at, lucky_rule, draft_skip_below, newcomer_hours, premium_only,
    daily_send_limit, personal_packets
)
SELECT chat_id, lang, updated_at, lucky_rule, draft_skip_below, newcomer_hours, premium_only,
       daily_send_limit, personal_packets
FROM chat_settings;
DROP TABLE chat_settings;
ALTER TABLE chat_settings_rebuilt RENAME TO chat_settings;
