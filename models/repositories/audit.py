"""Audit log writes: every state change a person or a workflow makes."""

from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.platform import AuditLogEntry

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
