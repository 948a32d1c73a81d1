-- The grabber report (/suspects): when a packet's message was posted, and with
-- each share how long its member took to press after the packet appeared to them
-- (NULL when not measured: shares opened before this migration, or outside the bot).
ALTER TABLE packets ADD COLUMN posted_at_ms BIGINT;
ALTER TABLE shares ADD COLUMN press_delay_ms BIGINT
    CHECK (press_delay_ms IS NULL OR press_delay_ms >= 0);
