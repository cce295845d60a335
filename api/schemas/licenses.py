"""Request and response bodies of licenses: the owner's view, and the signed documents
installed instances receive."""

from datetime import datetime

from pydantic import BaseModel, Field

from api.schemas import SingleLine, Strict
from domain.licensing import ActivationOutcome, InstanceId, Nonce, VerificationAnswer


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
    instance_id: InstanceId
    domain: SingleLine | None = Field(default=None, max_length=300)


class VerifyIn(InstanceIn):
    nonce: Nonce | None = None


class SignedDocumentOut(BaseModel):
    payload: str = Field(description="Canonical JSON: the bytes the signature covers")
    signature: str = Field(description="Ed25519, base64")
    key_id: str


class VerifyOut(SignedDocumentOut):
    answer: VerificationAnswer


class ActivationOut(VerifyOut):
    outcome: ActivationOutcome


class LicensePublicKey(BaseModel):
    key_id: str
    algorithm: str = "ed25519"
    status: str
    public_key_pem: str
