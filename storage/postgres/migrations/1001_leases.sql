-- Work that one process of many should do at a time (the expiry sweep, the
-- periodic audit): a process holds a named lease until `until_ms`, renewing
-- it each time it runs; when it dies, another takes over once it lapses.
CREATE TABLE leases (
    name      TEXT PRIMARY KEY,
    holder    TEXT NOT NULL,
    until_ms  BIGINT NOT NULL
);
