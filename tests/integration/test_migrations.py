"""Migrations keep the data they reshape."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from storage.sqlite.schema import configure, load_migrations, migrate, numbered_migrations


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


def _migrate_at(path: str, barrier: Any) -> None:
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    configure(conn)
    barrier.wait()
    migrate(conn)
    conn.close()


def test_processes_starting_together_on_a_new_file_migrate_it_once(tmp_path: Path) -> None:
    """Several `redpacket run` processes on one new file: each migration once, in order."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    for attempt in range(8):
        path = str(tmp_path / f"new-{attempt}.db")
        barrier = context.Barrier(4)
        processes = [context.Process(target=_migrate_at, args=(path, barrier)) for _ in range(4)]
        for process in processes:
            process.start()
        for process in processes:
            process.join(60)
        assert [p.exitcode for p in processes] == [0, 0, 0, 0]
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == numbered_migrations()[-1][0]
