"""An account's lifecycle through the HTTP API (issue 10, item 8): email verification,
password change and reset by mailed single-use codes, a token version that ends every
earlier session, admins disabling accounts, and password re-entry for redirecting payouts.

Mail goes the way production sends it: queued in the outbox by the request, delivered by
the outbox's own delivery step to a real SMTP server (aiosmtpd), and read there."""

import re
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from sqlalchemy import select, update

from activities.notifications import NotificationActivities
from domain.accounts import TokenPurpose, mask_destination, token_mail
from integrations.mail import SmtpMailer
from models.platform import AuditLogEntry, NotificationOutbox
from models.repositories.outbox import REDACTED
from models.user import EmailToken, User
from services import credentials
from tests.conftest import JWT_SECRET
from tests.factories import PASSWORD
from tests.smtp_server import SmtpServer
from tests.test_auth_api import from_address, register, sign_in, stopped_limiter

AU = "/api/v1/auth"
NEW_PASSWORD = "a brand new passphrase"
CODE = re.compile(r"^    (\S{20,})\r?$", re.MULTILINE)


@pytest.fixture
def smtp():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


async def deliver(db, smtp: SmtpServer) -> list:
    """Run the outbox delivery against the SMTP server; every message it holds so far."""
    mailer = SmtpMailer(smtp.host, smtp.port, security="none", timeout=5)
    await NotificationActivities(db, mailer, "Marketplace <no-reply@example.com>").deliver_due()
    return smtp.messages


def mails_to(messages, address: str, subject: str) -> list[str]:
    return [m.get_content() for m in messages if m["To"] == address and m["Subject"] == subject]


def code_in(body: str) -> str:
    [code] = CODE.findall(body)
    return code


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def session_of(api, email: str, password: str = PASSWORD) -> dict[str, str]:
    signed_in = await sign_in(api, email, password)
    assert signed_in.status_code == 200, signed_in.text
    return bearer(signed_in.json()["access_token"])


async def me(api, headers) -> int:
    return (await api.request("GET", f"{AU}/me", headers=headers)).status_code


async def stored(db, user_id: int) -> User:
    async with db() as session:
        return await session.get(User, user_id)


# --- the token version ----------------------------------------------------------------------


def legacy_token(user_id: int, settings, **claims) -> str:
    """An access token as they were minted before: no version claim."""
    now = datetime.now(UTC)
    return jwt.encode(
        {
            "sub": str(user_id),
            "iss": settings.jwt_issuer,
            "iat": now,
            "exp": now + timedelta(minutes=5),
            "typ": "access",
            **claims,
        },
        JWT_SECRET,
        algorithm="HS256",
    )


@pytest.mark.parametrize(
    "claims",
    [{}, {"pwd": "0123456789abcdef"}, {"ver": "0"}, {"ver": None}, {"ver": 0.0}, {"ver": True}],
    ids=["no-version", "password-stamp-only", "version-as-text", "null", "float", "bool"],
)
async def test_an_access_token_without_an_integer_version_is_refused(api, make, claims):
    """Tokens without a password stamp used to be accepted for their whole life: nothing
    could end them. Every token must now carry the account's version."""
    user = await make.user()
    response = await api.request(
        "GET", f"{AU}/me", headers=bearer(legacy_token(user.id, api.settings, **claims))
    )
    assert (response.status_code, response.json()["error"]) == (401, "invalid_token")
    good = legacy_token(user.id, api.settings, ver=0)
    assert await me(api, bearer(good)) == 200, "the same token with its version is fine"


# --- password change ----------------------------------------------------------------------


async def test_changing_the_password_ends_every_earlier_session(api, make, db, smtp):
    user = await make.user()
    laptop = await session_of(api, user.email)
    phone = await session_of(api, user.email)
    changed = await api.request(
        "POST",
        f"{AU}/password",
        headers=laptop,
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert changed.status_code == 200, changed.text
    assert await me(api, laptop) == 401, "the session that changed it is over too"
    assert await me(api, phone) == 401, "every earlier session is over"
    assert await me(api, bearer(changed.json()["access_token"])) == 200, "the new one works"
    assert (await sign_in(api, user.email)).status_code == 401
    assert (await sign_in(api, user.email, NEW_PASSWORD)).status_code == 200
    [notice] = mails_to(await deliver(db, smtp), user.email, "Your password was changed")
    assert "every session signed in before was ended" in notice


async def test_a_wrong_current_password_changes_nothing_and_guesses_back_off(api, make, db):
    user = await make.user()
    stopped_limiter(api, password_check_failures_per_account="3/minute")
    headers = await session_of(api, user.email)
    before = (await stored(db, user.id)).password_hash

    async def change(current: str):
        return await api.request(
            "POST",
            f"{AU}/password",
            headers=headers,
            json={"current_password": current, "new_password": NEW_PASSWORD},
        )

    for n in range(3):
        wrong = await change(f"a guess {n}")
        assert (wrong.status_code, wrong.json()["error"]) == (403, "wrong_password")
    blocked = await change(PASSWORD)
    assert (blocked.status_code, blocked.json()["error"]) == (429, "rate_limited")
    after = await stored(db, user.id)
    assert (after.password_hash, after.token_version) == (before, 0)
    assert await me(api, headers) == 200, "a refused change ends no session"


async def test_a_password_change_may_revoke_the_api_tokens_too(api, make):
    owner, _ = await make.publisher()
    session = await session_of(api, owner.email)
    made = await api.request(
        "POST",
        f"{AU}/tokens",
        headers=session,
        json={"name": "ci", "scopes": ["account", "publish"]},
    )
    ci = bearer(made.json()["token"])
    kept = await api.request(
        "POST",
        f"{AU}/password",
        headers=session,
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert await me(api, ci) == 200, "by default a CI token outlives a password change"
    revoked = await api.request(
        "POST",
        f"{AU}/password",
        headers=bearer(kept.json()["access_token"]),
        json={
            "current_password": NEW_PASSWORD,
            "new_password": PASSWORD,
            "revoke_api_tokens": True,
        },
    )
    assert revoked.status_code == 200, revoked.text
    assert await me(api, ci) == 401


# --- email verification -------------------------------------------------------------------


async def test_registering_mails_a_code_that_verifies_the_address_once(api, db, smtp):
    created = await register(api, "ada@example.com")
    assert created.status_code == 201, created.text
    assert created.json()["email_verified"] is False
    session = await session_of(api, "ada@example.com")
    refused = await api.request(
        "POST", "/api/v1/publisher/register", headers=session, json={"display_name": "Ada"}
    )
    assert (refused.status_code, refused.json()["error"]) == (403, "email_not_verified")

    [mail] = mails_to(await deliver(db, smtp), "ada@example.com", "Confirm your email address")
    code = code_in(mail)
    assert "/api/v1/auth/verify-email" in mail
    async with db() as session_:
        stored_tokens = (await session_.scalars(select(EmailToken))).all()
        outbox_bodies = (await session_.scalars(select(NotificationOutbox.body))).all()
    assert [t.token_hash for t in stored_tokens] == [credentials.hash_email_token(code)]
    assert outbox_bodies == [REDACTED], "the delivered mail's code is not kept"

    verified = await api.request("POST", f"{AU}/verify-email", json={"token": code})
    assert verified.status_code == 200, verified.text
    assert verified.json() == {"email": "ada@example.com", "email_verified": True}
    me_now = await api.request("GET", f"{AU}/me", headers=session)
    assert me_now.json()["email_verified"] is True
    again = await api.request("POST", f"{AU}/verify-email", json={"token": code})
    assert (again.status_code, again.json()["error"]) == (400, "invalid_token")
    became = await api.request(
        "POST", "/api/v1/publisher/register", headers=session, json={"display_name": "Ada"}
    )
    assert became.status_code == 201, became.text


async def test_expired_unknown_and_superseded_codes_verify_nothing(api, db, smtp):
    await register(api, "ada@example.com")
    session = await session_of(api, "ada@example.com")
    [first] = mails_to(await deliver(db, smtp), "ada@example.com", "Confirm your email address")
    resent = await api.request("POST", f"{AU}/verify-email/resend", headers=session)
    assert resent.status_code == 202, resent.text
    messages = await deliver(db, smtp)
    second = mails_to(messages, "ada@example.com", "Confirm your email address")[-1]
    assert code_in(second) != code_in(first)
    for stale in (code_in(first), "not-a-code-we-ever-sent", "x" * 201):
        response = await api.request("POST", f"{AU}/verify-email", json={"token": stale})
        assert response.status_code in (400, 422), response.text
    async with db() as session_:
        await session_.execute(
            update(EmailToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        await session_.commit()
    expired = await api.request("POST", f"{AU}/verify-email", json={"token": code_in(second)})
    assert (expired.status_code, expired.json()["error"]) == (400, "invalid_token")
    assert (await api.request("GET", f"{AU}/me", headers=session)).json()["email_verified"] is False


async def test_asking_for_new_codes_is_limited_per_account(api, make):
    user = await make.user(verified=False)
    stopped_limiter(api, verification_mail_rate_per_account="2/hour")
    session = await session_of(api, user.email)
    codes = [
        (await api.request("POST", f"{AU}/verify-email/resend", headers=session)).status_code
        for _ in range(3)
    ]
    assert codes == [202, 202, 429]
    verified = await make.user()
    done = await api.request(
        "POST", f"{AU}/verify-email/resend", headers=await session_of(api, verified.email)
    )
    assert (done.status_code, done.json()["error"]) == (409, "already_verified")


# --- password reset -----------------------------------------------------------------------


async def test_a_reset_answers_alike_for_any_address_and_mails_only_the_account(
    api, make, db, smtp
):
    user = await make.user()
    asked = await api.request("POST", f"{AU}/password-reset", json={"email": user.email.upper()})
    nobody = await api.request("POST", f"{AU}/password-reset", json={"email": "nobody@example.com"})
    assert asked.status_code == nobody.status_code == 202
    assert asked.json() == nobody.json()
    messages = await deliver(db, smtp)
    assert [m["To"] for m in messages] == [user.email], "no mail for an unknown address"
    assert messages[0]["Subject"] == "Reset your password"


async def test_a_mailed_reset_code_sets_a_new_password_once_and_ends_all_access(
    api, make, db, smtp
):
    owner, _ = await make.publisher()
    session = await session_of(api, owner.email)
    made = await api.request(
        "POST",
        f"{AU}/tokens",
        headers=session,
        json={"name": "ci", "scopes": ["account", "publish"]},
    )
    ci = bearer(made.json()["token"])
    await api.request("POST", f"{AU}/password-reset", json={"email": owner.email})
    [mail] = mails_to(await deliver(db, smtp), owner.email, "Reset your password")
    code = code_in(mail)

    short = await api.request(
        "POST", f"{AU}/password-reset/confirm", json={"token": code, "new_password": "short"}
    )
    assert short.status_code == 422
    reset = await api.request(
        "POST", f"{AU}/password-reset/confirm", json={"token": code, "new_password": NEW_PASSWORD}
    )
    assert reset.status_code == 204, reset.text
    assert await me(api, session) == 401, "the session from before the reset is over"
    assert await me(api, ci) == 401, "whoever knew the old password may have made it"
    assert (await sign_in(api, owner.email)).status_code == 401
    assert (await sign_in(api, owner.email, NEW_PASSWORD)).status_code == 200
    reused = await api.request(
        "POST", f"{AU}/password-reset/confirm", json={"token": code, "new_password": PASSWORD}
    )
    assert (reused.status_code, reused.json()["error"]) == (400, "invalid_token")
    notices = mails_to(await deliver(db, smtp), owner.email, "Your password was changed")
    assert len(notices) == 1 and "just reset" in notices[0]
    async with db() as session_:
        actions = (
            await session_.scalars(
                select(AuditLogEntry.action).where(AuditLogEntry.entity_id == str(owner.id))
            )
        ).all()
    assert "user.password_reset" in actions


async def test_a_verification_code_does_not_reset_a_password(api, db, smtp):
    await register(api, "ada@example.com")
    [mail] = mails_to(await deliver(db, smtp), "ada@example.com", "Confirm your email address")
    wrong_kind = await api.request(
        "POST",
        f"{AU}/password-reset/confirm",
        json={"token": code_in(mail), "new_password": NEW_PASSWORD},
    )
    assert (wrong_kind.status_code, wrong_kind.json()["error"]) == (400, "invalid_token")
    assert (await sign_in(api, "ada@example.com")).status_code == 200


async def test_reset_requests_are_limited_per_address_and_per_client(api, make, db, smtp):
    user = await make.user()
    stopped_limiter(
        api, password_reset_rate_per_email="2/hour", password_reset_rate_per_client="3/hour"
    )
    codes = []
    for n in range(3):
        from_address(api, f"198.51.100.{n}")  # rotating addresses do not buy more mails
        response = await api.request("POST", f"{AU}/password-reset", json={"email": user.email})
        codes.append(response.status_code)
    assert codes == [202, 202, 429]
    from_address(api, "203.0.113.5")
    sprayed = [
        (
            await api.request(
                "POST", f"{AU}/password-reset", json={"email": f"user{n}@example.com"}
            )
        ).status_code
        for n in range(4)
    ]
    assert sprayed == [202, 202, 202, 429]
    assert len(await deliver(db, smtp)) == 2


# --- admins disable and enable accounts ---------------------------------------------------


async def test_a_disabled_account_cannot_sign_in_or_use_any_token(api, make, db):
    admin = await make.admin()
    owner, _ = await make.publisher()
    session = await session_of(api, owner.email)
    made = await api.request(
        "POST",
        f"{AU}/tokens",
        headers=session,
        json={"name": "ci", "scopes": ["account", "publish"]},
    )
    ci = bearer(made.json()["token"])
    accounts = "/api/v1/admin/marketplace/accounts"

    no_reason = await api.request("POST", f"{accounts}/{owner.id}/disable", as_user=admin, json={})
    assert no_reason.status_code == 422
    disabled = await api.request(
        "POST", f"{accounts}/{owner.id}/disable", as_user=admin, json={"reason": "fraud"}
    )
    assert disabled.status_code == 200, disabled.text
    assert (disabled.json()["is_active"], disabled.json()["disabled_reason"]) == (False, "fraud")
    assert await me(api, session) == 401
    assert await me(api, ci) == 401
    refused = await sign_in(api, owner.email)
    assert (refused.status_code, refused.json()["error"]) == (403, "account_disabled")
    again = await api.request(
        "POST", f"{accounts}/{owner.id}/disable", as_user=admin, json={"reason": "fraud"}
    )
    assert (again.status_code, again.json()["error"]) == (409, "already_disabled")

    enabled = await api.request(
        "POST", f"{accounts}/{owner.id}/enable", as_user=admin, json={"note": "appeal won"}
    )
    assert enabled.status_code == 200, enabled.text
    assert await me(api, session) == 401, "sessions ended by disabling stay ended"
    assert await me(api, ci) == 401, "and so do its API tokens"
    assert await me(api, await session_of(api, owner.email)) == 200
    async with db() as session_:
        rows = (
            await session_.execute(
                select(AuditLogEntry.action, AuditLogEntry.actor_id, AuditLogEntry.changes)
                .where(
                    AuditLogEntry.entity_type == "user", AuditLogEntry.entity_id == str(owner.id)
                )
                .where(AuditLogEntry.action.in_(["user.disable", "user.enable"]))
                .order_by(AuditLogEntry.id)
            )
        ).all()
    assert [(a, actor) for a, actor, _ in rows] == [
        ("user.disable", admin.id),
        ("user.enable", admin.id),
    ]
    assert rows[0][2]["reason"] == "fraud" and rows[1][2]["note"] == "appeal won"


async def test_an_admin_cannot_disable_themselves_and_unknown_accounts_are_404(api, make):
    admin = await make.admin()
    accounts = "/api/v1/admin/marketplace/accounts"
    own = await api.request(
        "POST", f"{accounts}/{admin.id}/disable", as_user=admin, json={"reason": "oops"}
    )
    assert (own.status_code, own.json()["error"]) == (403, "cannot_disable_self")
    assert await me(api, api.token_for(admin)) == 200
    missing = await api.request(
        "POST", f"{accounts}/999999/disable", as_user=admin, json={"reason": "who"}
    )
    assert (missing.status_code, missing.json()["error"]) == (404, "user_not_found")
    active = await make.user()
    not_disabled = await api.request(
        "POST", f"{accounts}/{active.id}/enable", as_user=admin, json={}
    )
    assert (not_disabled.status_code, not_disabled.json()["error"]) == (409, "not_disabled")


# --- payout destination: password re-entry and a notice ----------------------------------


async def test_redirecting_payouts_takes_the_password_and_mails_a_notice(api, make, db, smtp):
    """The attack: a stolen session (or an API token with the account scope) points the
    publisher's payouts at the thief's PayPal address."""
    owner, publisher = await make.publisher()
    session = await session_of(api, owner.email)
    settings_url = "/api/v1/publisher/payouts/settings"
    thief = {"payout_method": "paypal", "paypal_email": "thief@example.com"}

    missing = await api.request("POST", settings_url, headers=session, json=thief)
    assert missing.status_code == 422, "the password is required"
    wrong = await api.request(
        "POST", settings_url, headers=session, json={**thief, "current_password": "a guess!"}
    )
    assert (wrong.status_code, wrong.json()["error"]) == (403, "wrong_password")
    kept = await api.request("GET", settings_url, headers=session)
    assert kept.json()["paypal_email"] is None
    assert await deliver(db, smtp) == []

    mine = {"payout_method": "paypal", "paypal_email": "owner.payouts@example.com"}
    moved = await api.request(
        "POST", settings_url, headers=session, json={**mine, "current_password": PASSWORD}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["paypal_email"] == "owner.payouts@example.com"
    [notice] = mails_to(await deliver(db, smtp), owner.email, "Your payout destination was changed")
    assert "paypal to ow***@example.com" in notice
    assert "owner.payouts@example.com" not in notice
    async with db() as session_:
        [changes] = (
            await session_.scalars(
                select(AuditLogEntry.changes).where(
                    AuditLogEntry.action == "publisher.payout_settings",
                    AuditLogEntry.entity_id == str(publisher.id),
                )
            )
        ).all()
    assert "current_password" not in changes and PASSWORD not in str(changes)


# --- the pure rules (no database) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("destination", "shown"),
    [
        ("owner.payouts@example.com", "ow***@example.com"),
        ("a@b.co", "a***@b.co"),
        ("acct_1Nv0FGQ9RKHgCVdK", "acct_***CVdK"),
        ("acct_1", "***"),
        (None, "none"),
    ],
)
def test_a_payout_destination_is_masked_in_the_notice(destination, shown):
    assert mask_destination(destination) == shown


@pytest.mark.parametrize(
    ("purpose", "ttl", "says"),
    [
        (TokenPurpose.VERIFY_EMAIL, timedelta(days=2), "for 2 days"),
        (TokenPurpose.RESET_PASSWORD, timedelta(hours=1), "for 1 hour"),
        (TokenPurpose.RESET_PASSWORD, timedelta(minutes=90), "for 90 minutes"),
    ],
)
def test_a_code_mail_says_what_to_call_and_how_long_the_code_lasts(purpose, ttl, says):
    mail = token_mail(purpose, "the-code", ttl, "https://market.example/")
    assert "\n    the-code\n" in mail.body and says in mail.body
    route = "verify-email" if purpose is TokenPurpose.VERIFY_EMAIL else "password-reset/confirm"
    assert f"POST https://market.example/api/v1/auth/{route} " in mail.body
    assert "\n" not in mail.subject
