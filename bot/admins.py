"""Who may run admin commands: chat administrators and the bot admins of ``.env``."""

from __future__ import annotations

from telegram import Bot
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError

ADMIN_STATUSES = frozenset({ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER})


async def is_admin(bot: Bot, chat_id: int, user_id: int, bot_admin_ids: list[int]) -> bool:
    """True for a bot admin anywhere, or a Telegram administrator of ``chat_id``."""
    if user_id in bot_admin_ids:
        return True
    if chat_id == user_id:  # a private chat has no administrators
        return False
    try:
        member = await bot.get_chat_member(chat_id, user_id)
    except TelegramError:
        return False
    return member.status in ADMIN_STATUSES
