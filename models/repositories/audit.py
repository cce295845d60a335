"""Audit log writes: every state change a person or a workflow makes."""

from datetime import datetime
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.decisions import DecisionAction, DecisionSubject, RecordedRequest, request_changes
from models.platform import AuditLogEntry, DecisionClaim
from models.user import User

DEDUPE_KEY_LENGTH = 200


async def record(
    session: AsyncSession,
    *,
    actor_id: int | None,
    action: str,
    entity_type: str,
    entity_id: int | str,
    changes: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
) -> None:
    """Add one audit row in the caller's transaction.

    With ``dedupe_key`` (a business key, e.g. ``version:42:reject``) the row is written
    once per key: a retried activity that records the same change again adds nothing."""
    values = {
        "actor_id": actor_id,
        "action": action,
        "entity_type": entity_type,
        "entity_id": str(entity_id),
        "changes": to_jsonable_python(changes or {}),
    }
    if dedupe_key is None:
        session.add(AuditLogEntry(**values))
        return
    if len(dedupe_key) > DEDUPE_KEY_LENGTH:
        raise ValueError(f"an audit dedupe key is at most {DEDUPE_KEY_LENGTH} characters")
    await session.execute(
        insert(AuditLogEntry)
        .values(**values, dedupe_key=dedupe_key)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
    )


# --- decision requests (domain.decisions) --------------------------------------------------


async def record_decision_request(
    session: AsyncSession,
    *,
    admin_id: int,
    subject: DecisionSubject,
    entity_id: int,
    action: DecisionAction,
    reason: str | None,
) -> int:
    """Record an admin's decision request in the caller's transaction; its audit row id,
    the reference the decision update carries."""
    entry = AuditLogEntry(
        actor_id=admin_id,
        action=subject.request_action,
        entity_type=subject.value,
        entity_id=str(entity_id),
        changes=request_changes(action, reason),
    )
    session.add(entry)
    await session.flush()
    return entry.id


async def decision_request(session: AsyncSession, audit_id: int) -> RecordedRequest | None:
    """The audit row ``audit_id`` with its author's role and state now, and its claim."""
    row = (
        await session.execute(
            select(AuditLogEntry, User.role, User.is_active, DecisionClaim.claimed_by)
            .outerjoin(User, User.id == AuditLogEntry.actor_id)
            .outerjoin(DecisionClaim, DecisionClaim.audit_id == AuditLogEntry.id)
            .where(AuditLogEntry.id == audit_id)
        )
    ).one_or_none()
    if row is None:
        return None
    entry, role, active, claimed_by = row
    return RecordedRequest(
        action=entry.action,
        entity_type=entry.entity_type,
        entity_id=entry.entity_id,
        actor_id=entry.actor_id,
        actor_role=role,
        actor_active=bool(active),
        changes=entry.changes,
        created_at=entry.created_at,
        claimed_by=claimed_by,
    )


async def claim_decision_request(session: AsyncSession, audit_id: int, claimant: str) -> str:
    """Claim the request for ``claimant`` unless another claimed it first; the claimant on
    record afterwards (concurrent claims wait for each other on the primary key)."""
    await session.execute(
        insert(DecisionClaim)
        .values(audit_id=audit_id, claimed_by=claimant)
        .on_conflict_do_nothing(index_elements=["audit_id"])
    )
    recorded: str = (
        await session.execute(
            select(DecisionClaim.claimed_by).where(DecisionClaim.audit_id == audit_id)
        )
    ).scalar_one()
    return recorded


async def database_now(session: AsyncSession) -> datetime:
    """The database's clock, which stamped the audit rows."""
    now: datetime = (await session.execute(select(func.now()))).scalar_one()
    return now
