"""Account lifecycle rules: mailed single-use tokens (email verification, password reset),
the mails that tell an account about changes to it, and what an unverified address may not
do. Pure: the services store, send and decide with these."""

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum


class TokenPurpose(StrEnum):
    VERIFY_EMAIL = "verify_email"
    RESET_PASSWORD = "reset_password"  # nosec B105  # a purpose's name, not a secret


class MailKind(StrEnum):
    """The outbox ``kind`` of each account mail."""

    VERIFY_EMAIL = "account.verify_email"
    RESET_PASSWORD = "account.reset_password"  # nosec B105  # a mail kind, not a secret
    PASSWORD_CHANGED = "account.password_changed"  # nosec B105  # a mail kind, not a secret
    PAYOUT_DESTINATION_CHANGED = "account.payout_destination_changed"


SECRET_MAIL_KINDS = frozenset({MailKind.VERIFY_EMAIL.value, MailKind.RESET_PASSWORD.value})
"""Mails that carry a live token: the outbox keeps their body only until it is sent (or
given up), so the database never holds a usable token for longer than delivery takes."""

UNVERIFIED_MAY_NOT = ("become a publisher",)
"""What an account whose address is not verified is refused (``email_not_verified``).
Buying, downloading, reviewing and the account's own settings need no verified address:
publishing puts a name and code in front of buyers and receives their money, so the
marketplace must be able to reach whoever does it."""


@dataclass(frozen=True)
class Mail:
    subject: str
    body: str


def _lifetime(ttl: timedelta) -> str:
    minutes = int(ttl.total_seconds() // 60)
    if minutes % (60 * 24) == 0:
        days = minutes // (60 * 24)
        return f"{days} day{'s' if days != 1 else ''}"
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def token_mail(purpose: TokenPurpose, token: str, ttl: timedelta, base_url: str) -> Mail:
    """The mail carrying ``token``: what it is for, how to use it, how long it is good."""
    api = base_url.rstrip("/") + "/api/v1/auth"
    if purpose is TokenPurpose.VERIFY_EMAIL:
        return Mail(
            "Confirm your email address",
            "Someone (we hope you) opened a FastVue Marketplace account with this address.\n"
            "To confirm that it is yours, send this code:\n\n"
            f"    {token}\n\n"
            f'as POST {api}/verify-email {{"token": "<the code>"}}.\n\n'
            f"The code is good once, for {_lifetime(ttl)}. If you did not open an account, "
            "ignore this mail: without the code the address stays unconfirmed.\n",
        )
    return Mail(
        "Reset your password",
        "A password reset was asked for the FastVue Marketplace account with this address.\n"
        "To choose a new password, send this code:\n\n"
        f"    {token}\n\n"
        f'as POST {api}/password-reset/confirm {{"token": "<the code>", '
        '"new_password": "..."}.\n\n'
        f"The code is good once, for {_lifetime(ttl)}. Resetting signs out every session and "
        "revokes the account's API tokens. If you did not ask for this, ignore this mail: "
        "your password stays as it is.\n",
    )


def password_changed_mail(how: str) -> Mail:
    """``how``: "changed" (by the signed-in owner) or "reset" (by a mailed code)."""
    return Mail(
        "Your password was changed",
        f"The password of your FastVue Marketplace account was just {how}, and every session "
        "signed in before was ended.\n\nIf this was not you, reset your password at once "
        "(POST /api/v1/auth/password-reset) and tell us.\n",
    )


def mask_destination(value: str | None) -> str:
    """Enough of a payout destination to recognise it, not enough to copy it."""
    if not value:
        return "none"
    if "@" in value:
        name, _, domain = value.partition("@")
        return f"{name[:2]}***@{domain}"
    return f"{value[:5]}***{value[-4:]}" if len(value) > 9 else "***"


def payout_destination_mail(method: str, destination: str | None) -> Mail:
    return Mail(
        "Your payout destination was changed",
        "The payout settings of your FastVue Marketplace publisher account were just changed: "
        f"payouts now go by {method} to {mask_destination(destination)}, from the next "
        "transfer on.\n\nIf this was not you, change your password at once and tell us before "
        "the next payout run.\n",
    )
