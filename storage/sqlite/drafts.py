"""``core.ports.DraftStore`` on either engine: the ``drafts`` table."""

from __future__ import annotations

from typing import Any

from core.drafts import Draft, DraftStatus
from core.packets import Kind, Member
from storage.sql_store import SqlConnection, SqlStore


_COLUMNS = (
    "chat_id, command_message_id, message_id, sender_id, sender_name, sender_username, kind,"
    " amount, count, greeting, recipient_id, recipient_name, recipient_username, chat_members,"
    " lang, total_changed, status, packet_id, created_at, phrase"
)


def _from_row(row: Any) -> Draft:
    (chat_id, command_id, message_id, sender_id, sender_name, sender_username, kind, amount,
     count, greeting, recipient_id, recipient_name, recipient_username, chat_members, lang,
     total_changed, status, packet_id, created_at, phrase) = row
    recipient = (
        Member(recipient_id, recipient_name or "", recipient_username)
        if recipient_id is not None else None
    )
    return Draft(
        chat_id=chat_id, command_message_id=command_id, message_id=message_id,
        sender=Member(sender_id, sender_name, sender_username), kind=Kind(kind), amount=amount,
        count=count, greeting=greeting, recipient=recipient, chat_members=chat_members,
        lang=lang, total_changed=bool(total_changed), status=DraftStatus(status),
        packet_id=packet_id, created_at=created_at, phrase=phrase,
    )


class Drafts:
    """The ``drafts`` table. Writes go through the store's group-commit writer."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store

    async def create(self, draft: Draft) -> bool:
        """Insert ``draft``; False if this command already made one (a replay)."""
        d = draft

        def write(conn: SqlConnection) -> bool:
            return bool(conn.execute(
                f"INSERT INTO drafts({_COLUMNS}) VALUES ({', '.join('?' * 20)})"
                " ON CONFLICT(chat_id, command_message_id) DO NOTHING",
                (d.chat_id, d.command_message_id, d.message_id, d.sender.id, d.sender.name,
                 d.sender.username, d.kind.value, d.amount, d.count, d.greeting,
                 d.recipient.id if d.recipient else None,
                 d.recipient.name if d.recipient else None,
                 d.recipient.username if d.recipient else None, d.chat_members, d.lang,
                 int(d.total_changed), d.status.value, d.packet_id, d.created_at, d.phrase),
            ).rowcount)

        return await self.store.write(write)

    async def attach_message(self, chat_id: int, command_message_id: int, message_id: int) -> None:
        await self.store.write(lambda conn: conn.execute(
            "UPDATE drafts SET message_id = ? WHERE chat_id = ? AND command_message_id = ?",
            (message_id, chat_id, command_message_id),
        ))

    async def by_message(self, chat_id: int, message_id: int) -> Draft | None:
        row = await self.store.fetchone(
            f"SELECT {_COLUMNS} FROM drafts WHERE chat_id = ? AND message_id = ?",
            (chat_id, message_id),
        )
        return _from_row(row) if row else None

    async def by_command(self, chat_id: int, command_message_id: int) -> Draft | None:
        row = await self.store.fetchone(
            f"SELECT {_COLUMNS} FROM drafts WHERE chat_id = ? AND command_message_id = ?",
            (chat_id, command_message_id),
        )
        return _from_row(row) if row else None

    async def lang_of_packet(self, packet_id: str) -> str | None:
        row = await self.store.fetchone(
            "SELECT lang FROM drafts WHERE packet_id = ?", (packet_id,)
        )
        return row[0] if row else None

    async def update_open(self, draft: Draft) -> bool:
        """Store a kind switch; False if the draft was sent or cancelled meanwhile."""
        d = draft

        def write(conn: SqlConnection) -> bool:
            return bool(conn.execute(
                "UPDATE drafts SET kind = ?, amount = ?, count = ?, total_changed = ?"
                " WHERE chat_id = ? AND command_message_id = ? AND status = 'open'",
                (d.kind.value, d.amount, d.count, int(d.total_changed), d.chat_id,
                 d.command_message_id),
            ).rowcount)

        return await self.store.write(write)

    async def claim(self, draft: Draft, status: DraftStatus) -> bool:
        """Decide Send against Cancel in one conditional UPDATE: True if this press
        moved the open draft to ``status``, False if another press decided first.

        A draft claimed by Send is ``sent`` with no ``packet_id`` until the packet
        exists (``sent_as``); a Send pressed then finishes the send with the same
        idempotency key, so a crash in between never strands the draft.
        """
        def write(conn: SqlConnection) -> bool:
            return bool(conn.execute(
                "UPDATE drafts SET status = ?"
                " WHERE chat_id = ? AND command_message_id = ? AND status = 'open'",
                (status.value, draft.chat_id, draft.command_message_id),
            ).rowcount)

        return await self.store.write(write)

    async def sent_as(self, draft: Draft, packet_id: str) -> None:
        """The packet a claimed Send made."""
        await self.store.write(lambda conn: conn.execute(
            "UPDATE drafts SET packet_id = ?"
            " WHERE chat_id = ? AND command_message_id = ? AND status = 'sent'",
            (packet_id, draft.chat_id, draft.command_message_id),
        ))

    async def reopen(self, draft: Draft) -> bool:
        """A claimed Send that was refused (not enough balance): the draft is open again."""
        def write(conn: SqlConnection) -> bool:
            return bool(conn.execute(
                "UPDATE drafts SET status = 'open' WHERE chat_id = ? AND command_message_id = ?"
                " AND status = 'sent' AND packet_id IS NULL",
                (draft.chat_id, draft.command_message_id),
            ).rowcount)

        return await self.store.write(write)

    async def close(
        self, draft: Draft, status: DraftStatus, packet_id: str | None = None
    ) -> bool:
        """Mark an open draft sent or cancelled; False if it was already closed."""
        def write(conn: SqlConnection) -> bool:
            return bool(conn.execute(
                "UPDATE drafts SET status = ?, packet_id = COALESCE(?, packet_id)"
                " WHERE chat_id = ? AND command_message_id = ? AND status = 'open'",
                (status.value, packet_id, draft.chat_id, draft.command_message_id),
            ).rowcount)

        return await self.store.write(write)
