"""The whole audit: packets and campaigns, one report (docs: the audit section).

``RedPackets.audit`` runs the store's ledger checks, which cover campaigns as
well; the campaign service then adds what only it can check (every win
recomputed from its seed, the gate of each live campaign), skipping the SQL
it would otherwise run twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.services import RedPackets
from core.shake_service import ShakeService


@dataclass(slots=True)
class FullAudit:
    problems: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    packets: int = 0
    campaigns: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


async def audit_everything(
    packets: RedPackets, shake: ShakeService | None, *, repair: bool
) -> FullAudit:
    """Every check on packets and campaigns; ``repair`` rebuilds gates that drifted."""
    report = await packets.audit(repair=repair)
    audit = FullAudit(list(report.problems), list(report.repaired), packets=report.packets)
    if shake is not None:
        campaigns = await shake.audit(repair=repair, ledger=False)  # the SQL ran above
        audit.problems += campaigns.problems
        audit.repaired += campaigns.repaired
        audit.campaigns = campaigns.campaigns
    return audit
