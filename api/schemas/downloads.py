"""Response bodies of downloads: the signed link, and the keys that check archives."""

from pydantic import BaseModel, Field

from domain.module_signature import SignatureFormat


class DownloadLink(BaseModel):
    url: str = Field(
        description="Our signed download link, valid for expires_in_seconds: following it "
        "is the download (counted) and redirects to the file"
    )
    version: str
    sha256: str
    size: int
    signature: str = Field(description="ECDSA P-256 with SHA-256, DER, base64")
    signature_key_id: str
    signature_format: SignatureFormat = Field(
        description="fastvue-module-signature/v2: the signature covers signed_statement; "
        "archive-sha256/v1 (versions signed before statements): the archive's SHA-256 only"
    )
    signed_statement: str | None = Field(
        description="The exact text a v2 signature covers (module slug, technical name, "
        "version, sha256); null for v1"
    )
    expires_in_seconds: int


class SigningKey(BaseModel):
    key_id: str
    algorithm: str = "ecdsa-p256-sha256"
    status: str
    public_key_pem: str
