"""Response bodies of downloads: the signed link, and the keys that check archives."""

from pydantic import BaseModel


class DownloadLink(BaseModel):
    url: str
    version: str
    sha256: str
    size: int
    signature: str
    signature_key_id: str
    expires_in_seconds: int


class SigningKey(BaseModel):
    key_id: str
    algorithm: str = "ecdsa-p256-sha256"
    status: str
    public_key_pem: str
