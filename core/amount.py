"""The money types every layer shares; a leaf module that imports nothing of ours.

Money is an ``int`` of minor units (cents, 分), never a float.
"""

from __future__ import annotations

Cents = int
CENTS_PER_UNIT = 100


class Amount(int):
    """Marks an ``int`` of cents inside message parameters, so renderers format it as money."""
