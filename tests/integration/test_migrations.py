"""Migrations keep the data they reshape."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from storage.sqlite.schema import load_migrations, migrate


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def test_the_ui_languages_are_not_a_check_and_chat_settings_keep_their_rows(
    tmp_path: Path,
) -> None:
    scripts = load_migrations()
    folder = Path(__file__).parents[2] / "storage" / "sqlite" / "migrations"
    names = sorted(p.name for p in folder.glob("*.sql"))
    before = names.index("0010_languages_in_the_bot.sql")
    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    for number, script in enumerate(scripts[:before], start=1):
        conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
    columns = _columns(conn, "chat_settings")
    conn.execute(
        "INSERT INTO chat_settings(chat_id, lang, updated_at, lucky_rule, draft_skip_below)"
        " VALUES (-5, 'zh', 7, 'segment', 300), (-6, NULL, 8, NULL, NULL)"
    )
    kept = conn.execute("SELECT * FROM chat_settings ORDER BY chat_id").fetchall()
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO chat_settings(chat_id, lang, updated_at) VALUES (-7, 'fr', 9)")

    migrate(conn)

    assert _columns(conn, "chat_settings") == columns
    assert conn.execute("SELECT * FROM chat_settings ORDER BY chat_id").fetchall() == kept
    conn.execute("INSERT INTO chat_settings(chat_id, lang, updated_at) VALUES (-7, 'fr', 9)")
    with pytest.raises(sqlite3.IntegrityError):  # the other rules still hold
        conn.execute(
            "INSERT INTO chat_settings(chat_id, lucky_rule, updated_at) VALUES (-8, 'x', 9)"
        )
    conn.close()


def test_user_version_is_the_number_of_the_last_file_applied(tmp_path: Path) -> None:
    from storage.sqlite.schema import numbered_migrations

    numbers = [number for number, _ in numbered_migrations()]
    assert numbers == sorted(set(numbers))
    conn = sqlite3.connect(tmp_path / "new.db", isolation_level=None)
    assert migrate(conn) == numbers[-1]
    assert conn.execute("PRAGMA user_version").fetchone()[0] == numbers[-1]
    assert migrate(conn) == numbers[-1]  # a second run applies nothing
