-- Bot messages whose buttons act on the message itself (the /lang picker, the
-- /records pages). Callback data can be forged on any bot message: a press is
-- honoured only on a message recorded here, of the kind its data names.
CREATE TABLE IF NOT EXISTS keyboard_messages (
    chat_id     BIGINT NOT NULL,
    message_id  BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    owner_id    BIGINT,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (chat_id, message_id)
);
CREATE INDEX IF NOT EXISTS keyboard_messages_age ON keyboard_messages(created_at);
