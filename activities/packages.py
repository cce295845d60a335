"""Side effects of version ingestion: each step reads the staged archive, checks or
transforms it, and records its result on the version row. Every step can run twice."""

import asyncio
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.notifications import queue_mail
from domain.archive import ArchiveLimits, ArchiveRejected, check_entries
from domain.errors import DomainError
from domain.ingest import (
    IngestRequest,
    PublishOutcome,
    ScanOutcome,
    StepOutcome,
    VersionDecision,
)
from domain.manifest import check_manifest_against_listing, parse_manifest
from domain.module_signature import SignatureFormat, statement
from domain.review import ReviewRequest
from domain.semver import fastvue_range_bounds, parse_semver
from domain.versions import (
    Footprint,
    PipelineStep,
    Reason,
    ScanVerdict,
    VersionStatus,
    dependency_names,
    file_types,
    finding_identities,
    novelties,
    scan_verdict,
)
from integrations import zip_archive
from integrations.mail import Mailer
from integrations.private_files import open_private, private_directory
from integrations.scanning import (
    SCAN_ERROR_ID,
    AuditResult,
    Finding,
    run_bandit,
    run_pip_audit,
)
from integrations.signing import KeyRing, file_sha256
from integrations.storage import ObjectStorage, storage_key
from models.repositories import audit, modules, platform_settings, versions


@dataclass(frozen=True)
class ScanPolicy:
    reject_at: str
    review_at: str
    osv_url: str
    audit_timeout: float


@dataclass
class PackageActivities:
    sessions: async_sessionmaker[AsyncSession]
    storage: ObjectStorage
    keyring: KeyRing
    mailer: Mailer
    mail_from: str
    limits: ArchiveLimits
    scan_policy: ScanPolicy
    workdir: Path
    review_reminder_after: timedelta
    review_escalate_after_reminders: int
    scan_concurrency: int = 2
    _scan_slots: asyncio.Semaphore = field(init=False, repr=False)

    def __post_init__(self) -> None:
        """Scans are CPU-heavy subprocesses: a burst of uploads queues here, heartbeating,
        instead of starving the thread pool until heartbeats time out."""
        self._scan_slots = asyncio.Semaphore(self.scan_concurrency)

    async def _step(self, request: IngestRequest, step: PipelineStep, **values: Any) -> None:
        async with self.sessions.begin() as session:
            await versions.set_fields(
                session, request.version_id, pipeline_step=step.value, **values
            )

    def _local_copy(self, request: IngestRequest) -> Path:
        """The staged archive on this worker's disk, fetched once per version."""
        target = self.workdir / f"version-{request.version_id}.zip"
        if target.exists() and file_sha256(target).hex() == request.upload_sha256:
            return target
        private_directory(self.workdir)
        partial = target.with_suffix(".part")
        with os.fdopen(open_private(partial, os.O_WRONLY | os.O_TRUNC), "wb") as handle:
            for chunk in self.storage.open_stream(request.staging_key):
                handle.write(chunk)
        partial.replace(target)
        return target

    @activity.defn(name="package.check_archive")
    async def check_archive(self, request: IngestRequest) -> StepOutcome:
        await self._step(request, PipelineStep.ARCHIVE)
        path = await asyncio.to_thread(self._local_copy, request)
        try:
            await asyncio.to_thread(self._inspect, path, request.technical_name)
        except ArchiveRejected as rejected:
            return StepOutcome(reasons=[_reason(rejected, PipelineStep.ARCHIVE)])
        return StepOutcome()

    def _inspect(self, path: Path, technical_name: str) -> None:
        check_entries(zip_archive.read_entries(path, self.limits), technical_name, self.limits)
        zip_archive.verify_crcs(path, self.limits)

    @activity.defn(name="package.check_manifest")
    async def check_manifest(self, request: IngestRequest) -> StepOutcome:
        await self._step(request, PipelineStep.MANIFEST)
        path = await asyncio.to_thread(self._local_copy, request)
        name = f"{request.technical_name}/manifest.json"
        try:
            raw = zip_archive.read_member(path, name, self.limits.max_manifest_bytes, self.limits)
            manifest = parse_manifest(raw)
            async with self.sessions() as session:
                used = await versions.version_numbers(
                    session, request.module_id, except_id=request.version_id
                )
                known = await versions.published_module_names(session)
            check_manifest_against_listing(manifest, request.technical_name, used, known)
            if manifest.version != request.version:
                raise DomainError(
                    "version_changed", "the manifest version differs from the uploaded one"
                )
            low, high = fastvue_range_bounds(manifest.fastvue_versions)
        except DomainError as error:
            return StepOutcome(reasons=[_reason(error, PipelineStep.MANIFEST)])
        await self._step(
            request,
            PipelineStep.MANIFEST,
            manifest=manifest.model_dump(mode="json"),
            min_fastvue_version=low,
            max_fastvue_version=high,
        )
        return StepOutcome()

    @activity.defn(name="package.hash")
    async def hash_archive(self, request: IngestRequest) -> StepOutcome:
        await self._step(request, PipelineStep.HASH)
        path = await asyncio.to_thread(self._local_copy, request)
        digest = (await asyncio.to_thread(file_sha256, path)).hex()
        if digest != request.upload_sha256:
            return StepOutcome(
                reasons=[
                    Reason(
                        code="hash_mismatch",
                        detail="the stored archive differs from the uploaded one",
                        step=PipelineStep.HASH,
                    )
                ]
            )
        await self._step(
            request, PipelineStep.HASH, zip_file_hash=digest, zip_file_size=path.stat().st_size
        )
        return StepOutcome()

    @activity.defn(name="package.scan")
    async def scan(self, request: IngestRequest) -> ScanOutcome:
        await self._step(request, PipelineStep.SCAN)
        heartbeat = asyncio.create_task(_heartbeat_every(_heartbeat_interval(3.0)))
        try:
            async with self._scan_slots:
                path = await asyncio.to_thread(self._local_copy, request)
                findings, audit_result, suffixes = await asyncio.to_thread(
                    self._scan_files, path, request
                )
        finally:
            heartbeat.cancel()
        reject_at, review_at = await self._scan_thresholds()
        verdict, reasons = scan_verdict(
            [f.severity for f in findings if f.test_id != SCAN_ERROR_ID],
            [f.file for f in findings if f.test_id == SCAN_ERROR_ID],
            audit_result.status,
            audit_result.unpinned,
            reject_at=reject_at,
            review_at=review_at,
        )
        stored_findings = [f.model_dump(mode="json") for f in findings]
        if verdict != ScanVerdict.REJECT:
            added = await self._novelties(request, stored_findings, suffixes)
            if added:
                verdict, reasons = ScanVerdict.REVIEW, [*reasons, *added]
        await self._step(
            request,
            PipelineStep.SCAN,
            scan_findings=stored_findings,
            file_types=sorted(suffixes),
            audit_status=audit_result.status,
            audit_report=audit_result.model_dump(mode="json"),
        )
        return ScanOutcome(verdict=verdict, reasons=reasons, findings=len(findings))

    async def _novelties(
        self, request: IngestRequest, findings: list[dict[str, Any]], suffixes: set[str]
    ) -> list[Reason]:
        """What this version adds over the previous published one (none for a first
        version): inside the scan step, so recorded workflow histories replay unchanged."""
        async with self.sessions() as session:
            previous = await versions.previous_published(
                session, request.module_id, except_id=request.version_id
            )
            current = await versions.get_version(session, request.version_id)
        if previous is None or current is None:
            return []
        return novelties(
            Footprint(
                dependencies=dependency_names(previous.manifest),
                file_types=None if previous.file_types is None else set(previous.file_types),
                findings=finding_identities(previous.scan_findings),
            ),
            Footprint(
                dependencies=dependency_names(current.manifest),
                file_types=suffixes,
                findings=finding_identities(findings),
            ),
        )

    async def _scan_thresholds(self) -> tuple[str, str]:
        """The severities in force for this scan: the admins' platform settings, read per
        run, over the thresholds the worker started with."""
        async with self.sessions() as session:
            return await platform_settings.current_scan_thresholds(
                session, self.scan_policy.reject_at, self.scan_policy.review_at
            )

    def _scan_files(
        self, path: Path, request: IngestRequest
    ) -> tuple[list[Finding], AuditResult, set[str]]:
        name = f"{request.technical_name}/manifest.json"
        manifest = parse_manifest(
            zip_archive.read_member(path, name, self.limits.max_manifest_bytes, self.limits)
        )
        entries = zip_archive.read_entries(path, self.limits)
        summary = check_entries(entries, request.technical_name, self.limits)
        with tempfile.TemporaryDirectory(dir=self.workdir) as scratch:
            root = Path(scratch)
            zip_archive.extract_python_files(path, summary, root, self.limits)
            findings = run_bandit(root)
        audit_result = run_pip_audit(
            dict(manifest.external_dependencies),
            osv_url=self.scan_policy.osv_url,
            timeout=self.scan_policy.audit_timeout,
        )
        return findings, audit_result, file_types([e.name for e in entries if not e.is_dir])

    @activity.defn(name="package.hold_for_review")
    async def hold_for_review(self, request: IngestRequest, reasons: list[Reason]) -> None:
        await self._step(
            request,
            PipelineStep.MANUAL_REVIEW,
            status=VersionStatus.MANUAL_REVIEW,
            rejection_reasons=[r.model_dump(mode="json") for r in reasons],
        )

    @activity.defn(name="package.record_review_decision")
    async def record_review_decision(
        self, request: IngestRequest, decision: VersionDecision
    ) -> None:
        """Note who decided; an approved version goes back to processing, without the
        reasons it was held for (they no longer stand)."""
        async with self.sessions.begin() as session:
            if decision.approve:
                await versions.set_fields(
                    session,
                    request.version_id,
                    status=VersionStatus.PROCESSING,
                    rejection_reasons=[],
                )
            await audit.record(
                session,
                actor_id=decision.admin_id,
                action="version.review_approve" if decision.approve else "version.review_reject",
                entity_type="version",
                entity_id=request.version_id,
                changes={"reason": decision.reason},
                dedupe_key=f"version:{request.version_id}:review_decision",
            )

    @activity.defn(name="package.sign")
    async def sign(self, request: IngestRequest) -> None:
        """Sign the statement naming this module, version and archive hash
        (``domain.module_signature``); a rerun keeps a signature that still covers it."""
        await self._step(request, PipelineStep.SIGN)
        path = await asyncio.to_thread(self._local_copy, request)
        digest = await asyncio.to_thread(file_sha256, path)
        text = statement(
            slug=request.module_slug,
            technical_name=request.technical_name,
            version=request.version,
            sha256=digest.hex(),
        )
        async with self.sessions() as session:
            row = await versions.get_version(session, request.version_id)
        if (
            row is not None
            and row.signature
            and row.signature_key_id
            and row.signature_format == SignatureFormat.STATEMENT
            and row.signed_statement == text
            and self.keyring.verify_statement(text, row.signature, row.signature_key_id)
        ):
            return
        signature = self.keyring.sign_statement(text)
        await self._step(
            request,
            PipelineStep.SIGN,
            signature=signature.signature_b64,
            signature_key_id=signature.key_id,
            signature_format=SignatureFormat.STATEMENT.value,
            signed_statement=text,
        )

    @activity.defn(name="package.store")
    async def store(self, request: IngestRequest) -> None:
        await self._step(request, PipelineStep.STORE)
        path = await asyncio.to_thread(self._local_copy, request)
        key = storage_key(request.technical_name, request.version)
        await asyncio.to_thread(self.storage.put_file, key, path)
        await self._step(request, PipelineStep.STORE, zip_file_url=key)

    @activity.defn(name="package.publish")
    async def publish(self, request: IngestRequest) -> PublishOutcome:
        await self._step(request, PipelineStep.PUBLISH)
        parsed = parse_semver(request.version)
        async with self.sessions.begin() as session:
            module = await versions.lock_module(session, request.module_id)
            newly = await versions.mark_published(
                session,
                request.version_id,
                semver=(parsed.major, parsed.minor, parsed.patch),
                prerelease=parsed.prerelease is not None,
                published_at=datetime.now(UTC),
                published_by=request.uploaded_by,
            )
            latest = await versions.recompute_latest(session, request.module_id)
            if newly:
                await audit.record(
                    session,
                    actor_id=request.uploaded_by,
                    action="version.publish",
                    entity_type="version",
                    entity_id=request.version_id,
                    changes={"version": request.version},
                )
            row = await versions.get_version(session, request.version_id)
        assert row is not None  # this activity's own version
        await asyncio.to_thread(self._drop_staging, request)
        return PublishOutcome(
            version_id=request.version_id,
            status=VersionStatus(row.status),
            is_latest=latest == request.version_id,
            module_needs_review=module is not None and module.status == "draft",
        )

    @activity.defn(name="package.reject")
    async def reject(self, request: IngestRequest, reasons: list[Reason]) -> None:
        async with self.sessions.begin() as session:
            await versions.set_fields(
                session,
                request.version_id,
                status=VersionStatus.REJECTED,
                rejection_reasons=[r.model_dump(mode="json") for r in reasons],
            )
            await audit.record(
                session,
                actor_id=None,
                action="version.reject",
                entity_type="version",
                entity_id=request.version_id,
                changes={"reasons": [r.code for r in reasons]},
                dedupe_key=f"version:{request.version_id}:reject",
            )
        await asyncio.to_thread(self._drop_staging, request)

    def _drop_staging(self, request: IngestRequest) -> None:
        self.storage.delete(request.staging_key)
        (self.workdir / f"version-{request.version_id}.zip").unlink(missing_ok=True)

    @activity.defn(name="package.notify")
    async def notify(self, request: IngestRequest, reasons: list[Reason]) -> None:
        async with self.sessions() as session:
            found = await modules.module_with_owner_email(session, request.module_id)
        if found is None:
            return
        module, email = found
        if reasons:
            kind = "version_rejected"
            subject = f"{module.display_name} {request.version} was rejected"
            body = "The version was not published:\n\n" + "\n".join(
                f"- [{r.code}] {r.detail}" for r in reasons
            )
        else:
            kind = "version_published"
            subject = f"{module.display_name} {request.version} is published"
            body = f"Version {request.version} of {module.display_name} passed every check."
        await queue_mail(
            self.sessions,
            self.mailer,
            self.mail_from,
            key=f"ingest-{request.module_slug}-{request.version}-outcome",
            kind=kind,
            to=email,
            subject=subject,
            body=body,
        )

    @activity.defn(name="package.start_module_review")
    async def start_module_review(self, request: IngestRequest) -> ReviewRequest | None:
        """Put a draft module into the review queue now that it has a good version; the
        review to start (or find running) when the module waits for one."""
        async with self.sessions.begin() as session:
            module = await versions.lock_module(session, request.module_id)
            if module is None or module.status not in ("draft", "pending"):
                return None
            if module.status == "draft":
                module.status = "pending"
                module.submitted_at = datetime.now(UTC)
                await audit.record(
                    session,
                    actor_id=request.uploaded_by,
                    action="module.submit",
                    entity_type="module",
                    entity_id=module.id,
                    changes={"via": "first_version"},
                )
            found = await modules.module_with_owner_email(session, module.id)
            days = await platform_settings.effective_setting(session, "review_reminder_days", None)
            reminder = timedelta(days=days) if days is not None else self.review_reminder_after
            return ReviewRequest(
                module_id=module.id,
                slug=module.slug,
                display_name=module.display_name,
                publisher_email=found[1] if found else "",
                reminder_after_seconds=reminder.total_seconds(),
                escalate_after_reminders=self.review_escalate_after_reminders,
            )


def _reason(error: DomainError, step: PipelineStep) -> Reason:
    return Reason(code=error.code, detail=error.detail, step=step)


def _heartbeat_interval(longest: float) -> float:
    """Often enough for the run's heartbeat timeout (a quarter of it), at most ``longest``."""
    timeout = activity.info().heartbeat_timeout
    return min(longest, timeout.total_seconds() / 4) if timeout else longest


async def _heartbeat_every(seconds: float) -> None:
    while True:
        activity.heartbeat()
        await asyncio.sleep(seconds)
