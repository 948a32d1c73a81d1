"""The whole audit: packets and campaigns, one report (docs: the audit section).

``RedPackets.audit`` runs the store's ledger checks, which cover campaigns as
well; the campaign service then adds what only it can check (every win
recomputed from its seed, the gate of each live campaign), skipping the SQL
it would otherwise run twice.
"""

from __future__ import annotations

from core.gatekeeping import AuditReport
from core.services import RedPackets
from core.shake_service import ShakeService


async def audit_everything(
    packets: RedPackets, shake: ShakeService | None, *, repair: bool
) -> AuditReport:
    """Every check on packets and campaigns; ``repair`` rebuilds gates that drifted."""
    report = await packets.audit(repair=repair)
    if shake is not None:
        report.add(await shake.audit(repair=repair, ledger=False))  # the SQL ran above
    return report
