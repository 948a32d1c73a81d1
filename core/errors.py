"""Domain errors carry a message key and parameters; the bot translates them."""

from __future__ import annotations

from typing import Any

from core.amount import Amount


class DomainError(Exception):
    """A refusal the user should read: ``key`` names a catalog message."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key, params)
        self.key = key
        self.params = params

    def __str__(self) -> str:
        if not self.params:
            return self.key
        args = ", ".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        return f"{self.key}({args})"


class InsufficientFunds(DomainError):
    def __init__(self, balance: int, needed: int) -> None:
        super().__init__("error.insufficient_funds", balance=Amount(balance), needed=Amount(needed))
        self.balance = balance
        self.needed = needed


class GateUnavailable(Exception):
    """The grab gate is slow, down or overloaded: answer "not this time"."""


class StoreUnavailable(Exception):
    """The durable store is busy, locked or failing (disk, I/O): nothing was decided."""
