"""Request and response bodies of licenses: the owner's view, and the signed documents
installed instances receive."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from api.schemas import ONE_LINE, Strict
from domain.licensing import ActivationOutcome, InstanceDomain, InstanceId, LicenseAnswer, Nonce


class LicenseOut(BaseModel):
    id: int
    license_key: str = Field(description="Full for its owner")
    module_slug: str
    module_name: str
    license_type: str
    status: str
    expires_at: datetime | None
    max_instances: int
    instance_domains: list[str]
    active_instances: int = Field(description="Instances activated now")


class InstanceIn(Strict):
    """What an installed instance sends with its key (activate, deactivate, verify)."""

    instance_id: InstanceId
    domain: Annotated[InstanceDomain, ONE_LINE] = Field(
        description="The host the instance serves; normalized (IDNA A-labels, lower case, "
        "no port, no trailing dot) and signed into the answer"
    )
    nonce: Nonce = Field(
        description="Fresh for every request (16 random bytes, encoded): echoed and signed"
    )


class SignedDocumentOut(BaseModel):
    payload: str = Field(description="Canonical JSON: the exact UTF-8 bytes the signature covers")
    signature: str = Field(description="Ed25519 over the payload's UTF-8 bytes, base64")
    key_id: str = Field(description="The signing key (also inside the payload): a hint")


class AnswerOut(SignedDocumentOut):
    answer: LicenseAnswer = Field(description="The payload, parsed: trust it once checked")


class ActivationOut(AnswerOut):
    outcome: ActivationOutcome


class RefusedAnswerOut(AnswerOut):
    """A signed refusal of activate or deactivate (404 or 409): ``error`` is the answer's
    code in lower case."""

    error: str
    detail: str


class RefusedActivationOut(RefusedAnswerOut):
    outcome: ActivationOutcome


class LicensePublicKey(BaseModel):
    key_id: str
    algorithm: str = "ed25519"
    status: str = Field(description="current (signs new documents) or retired (still checks)")
    public_key_pem: str
