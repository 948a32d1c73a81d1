-- Which UI languages exist is the bot's to say (its catalogs), not the schema's:
-- chat_settings.lang loses its CHECK (lang IN ('en', 'zh')), so a new language
-- needs catalogs only. The same bound on its length as SQLite's rebuilt table.
ALTER TABLE chat_settings DROP CONSTRAINT chat_settings_lang_check;
ALTER TABLE chat_settings ADD CONSTRAINT chat_settings_lang_check
    CHECK (lang IS NULL OR length(lang) BETWEEN 2 AND 16);
