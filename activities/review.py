"""Side effects of the module review workflow: record the decision, tell people."""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.notifications import queue_mail
from domain.decisions import (
    DecisionAction,
    DecisionCheck,
    DecisionRefused,
    VerifiedDecision,
    check_decision_request,
)
from domain.listing import RevisionDecision, RevisionOutcome, RevisionStatus
from domain.modules import ModuleStatus
from domain.review import ReviewDecision, ReviewOutcome, ReviewReminder
from integrations.mail import Mailer
from models.repositories import audit, listing_revisions, modules


class ApplyDecisionInput(ReviewDecision):
    module_id: int


@dataclass
class ReviewActivities:
    sessions: async_sessionmaker[AsyncSession]
    mailer: Mailer
    """Delivers queued mail right away; the delivery schedule retries what it cannot."""
    mail_from: str
    admin_email: str
    public_base_url: str | None = None
    """Where links in mails point; without it mails carry no links."""

    @activity.defn(name="review.verify_decision")
    async def verify_decision(self, check: DecisionCheck) -> VerifiedDecision:
        """The decision a decision update's reference stands for, once the reference is
        checked and claimed for this update (``domain.decisions``); a refusal is a
        non-retryable error the workflow hands to the update's sender. Safe to retry: the
        update that claimed the reference is let through again."""
        async with self.sessions.begin() as session:
            reference = check.reference
            recorded = await audit.decision_request(session, reference.audit_id)
            now = await audit.database_now(session)
            try:
                verified = check_decision_request(recorded, check, now)
                claimant = await audit.claim_decision_request(
                    session, reference.audit_id, check.claimant
                )
                if claimant != check.claimant:
                    raise DecisionRefused(
                        "decision_reference_used",
                        f"decision request {reference.audit_id} was used already",
                    )
            except DecisionRefused as refused:
                raise ApplicationError(
                    refused.detail, type=refused.code, non_retryable=True
                ) from None
            return verified

    @activity.defn(name="review.apply_decision")
    async def apply_decision(self, request: ApplyDecisionInput) -> ReviewOutcome:
        """Write the decision to the module row; the module's current state if it moved on."""
        async with self.sessions.begin() as session:
            module = await modules.apply_review_decision(
                session,
                module_id=request.module_id,
                status=request.resulting_status,
                reason=request.reason,
                decided_by=request.admin_id,
                decided_at=datetime.now(UTC),
            )
            if module is not None:
                await audit.record(
                    session,
                    actor_id=request.admin_id,
                    action=f"module.{request.action}",
                    entity_type="module",
                    entity_id=module.id,
                    changes={"status": module.status, "reason": request.reason},
                )
            else:
                module = await modules.get_module(session, request.module_id)
                if module is None:
                    raise ApplicationError(
                        "module no longer exists", type="module_not_found", non_retryable=True
                    )
            return ReviewOutcome(
                module_id=module.id,
                status=ModuleStatus(module.status),
                reason=module.rejection_reason,
                decided_by=module.reviewed_by,
                decided_at=module.reviewed_at,
            )

    @activity.defn(name="review.decide_revision")
    async def decide_revision(self, decision: RevisionDecision) -> RevisionOutcome:
        """Apply an approved listing revision to its module, or record the rejection; a
        revision no longer pending (decided by a retry, or withdrawn) is left as it is."""
        async with self.sessions.begin() as session:
            found = await listing_revisions.get_revision(session, decision.revision_id)
            if found is None:
                raise ApplicationError(
                    "the revision no longer exists", type="revision_not_found", non_retryable=True
                )
            # The module first, like the publisher's edits, then the revision.
            module = await modules.get_module_for_update(session, found.module_id)
            revision = await listing_revisions.get_revision(session, found.id, lock=True)
            assert revision is not None and module is not None
            if revision.status == RevisionStatus.PENDING:
                now = datetime.now(UTC)
                if module.status != ModuleStatus.PUBLISHED:
                    listing_revisions.close(revision, RevisionStatus.WITHDRAWN)
                elif decision.action is DecisionAction.APPROVE:
                    applied = listing_revisions.apply_to_module(revision, module)
                    module.updated_by = decision.admin_id
                    listing_revisions.close(
                        revision,
                        RevisionStatus.APPROVED,
                        decided_by=decision.admin_id,
                        decided_at=now,
                        reason=None,
                    )
                    await audit.record(
                        session,
                        actor_id=decision.admin_id,
                        action="listing_revision.approve",
                        entity_type="module",
                        entity_id=module.id,
                        changes={"revision": revision.id, "applied": applied},
                    )
                else:
                    listing_revisions.close(
                        revision,
                        RevisionStatus.REJECTED,
                        decided_by=decision.admin_id,
                        decided_at=now,
                        reason=decision.reason,
                    )
                    await audit.record(
                        session,
                        actor_id=decision.admin_id,
                        action="listing_revision.reject",
                        entity_type="module",
                        entity_id=module.id,
                        changes={"revision": revision.id, "reason": decision.reason},
                    )
            return RevisionOutcome(
                revision_id=revision.id,
                module_id=module.id,
                status=RevisionStatus(revision.status),
                reason=revision.rejection_reason,
                decided_at=revision.decided_at,
            )

    @activity.defn(name="review.notify_revision")
    async def notify_revision(self, outcome: RevisionOutcome) -> None:
        """Tell the publisher their listing changes are live, or why they were not."""
        async with self.sessions() as session:
            found = await modules.module_with_owner_email(session, outcome.module_id)
        if found is None:
            return
        module, email = found
        name = f"{module.display_name} ({module.slug})"
        decided = f"{outcome.decided_at:%Y%m%dT%H%M%S%f}" if outcome.decided_at else "unknown"
        if outcome.status is RevisionStatus.APPROVED:
            kind = "listing_revision_approved"
            subject = f"Your changes to {module.display_name} are live"
            body = f"The listing changes of your module {name} passed review and are live." + (
                self._link("Its page", f"/api/v1/marketplace/modules/{module.slug}")
            )
        else:
            kind = "listing_revision_rejected"
            subject = f"Your changes to {module.display_name} were not approved"
            body = (
                f"The listing changes of your module {name} were rejected; the listing "
                f"stays as it was.\n\nReason: {outcome.reason}\n\nFix them and send them "
                "again."
                + self._link("Your changes", f"/api/v1/publisher/modules/{module.id}/revision")
            )
        await queue_mail(
            self.sessions,
            self.mailer,
            self.mail_from,
            key=f"listing-revision-{outcome.revision_id}-decision-{decided}",
            kind=kind,
            to=email,
            subject=subject,
            body=body,
        )

    @activity.defn(name="review.notify_publisher")
    async def notify_publisher(self, outcome: ReviewOutcome) -> None:
        async with self.sessions() as session:
            found = await modules.module_with_owner_email(session, outcome.module_id)
        if found is None:
            return
        module, email = found
        name = f"{module.display_name} ({module.slug})"
        if outcome.status is ModuleStatus.PUBLISHED:
            kind = "module_approved"
            subject = f"{module.display_name} is approved and published"
            body = (
                f"Your module {name} passed review and is now published on the "
                "FastVue Marketplace."
                + self._link("Its page", f"/api/v1/marketplace/modules/{module.slug}")
            )
        else:
            kind = "module_rejected"
            subject = f"{module.display_name} was not approved"
            body = (
                f"Your module {name} was rejected.\n\nReason: {outcome.reason}\n\n"
                "Fix it and submit it again."
                + self._link("Your module", f"/api/v1/publisher/modules/{module.id}")
            )
        decided = outcome.decided_at.isoformat() if outcome.decided_at else "unknown"
        await queue_mail(
            self.sessions,
            self.mailer,
            self.mail_from,
            key=f"review-{module.slug}-decision-{decided}",
            kind=kind,
            to=email,
            subject=subject,
            body=body,
        )

    def _link(self, label: str, path: str) -> str:
        return f"\n\n{label}: {self.public_base_url}{path}" if self.public_base_url else ""

    @activity.defn(name="review.remind_admins")
    async def remind_admins(self, reminder: ReviewReminder) -> None:
        prefix = "ESCALATED: " if reminder.escalated else ""
        await queue_mail(
            self.sessions,
            self.mailer,
            self.mail_from,
            key=f"review-{reminder.slug}-{reminder.waiting_since:%Y%m%dT%H%M%S}"
            f"-reminder-{reminder.reminder_number}",
            kind="review_reminder",
            to=self.admin_email,
            subject=f"{prefix}{reminder.display_name} waits for review",
            body=(
                f"The module {reminder.display_name} ({reminder.slug}) has waited for a "
                f"review decision since {reminder.waiting_since.isoformat()}.\n"
                f"This is reminder {reminder.reminder_number}."
                + self._link("Pending modules", "/api/v1/admin/marketplace/pending")
            ),
        )
        async with self.sessions.begin() as session:
            await audit.record(
                session,
                actor_id=None,
                action="module.review_reminder",
                entity_type="module",
                entity_id=reminder.module_id,
                changes={"reminder": reminder.reminder_number, "escalated": reminder.escalated},
                dedupe_key=f"module:{reminder.module_id}:review:"
                f"{reminder.waiting_since:%Y%m%dT%H%M%S}:reminder:{reminder.reminder_number}",
            )
