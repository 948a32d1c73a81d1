"""A chat's own settings: its split rule for lucky packets and when a draft is skipped."""

from __future__ import annotations

from dataclasses import dataclass

from core.allocation import Rule
from core.amount import Cents


@dataclass(frozen=True, slots=True)
class ChatRules:
    """A chat's own choices; ``None`` follows the deployment's settings."""

    lucky_rule: Rule | None = None
    draft_skip_below: Cents | None = None
