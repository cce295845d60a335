"""Key endorsements: how installed instances learn a new license signing key.

Instances pin the marketplace's license signing public keys; listing a key at
``GET /licenses/public-key`` does not make them trust it, since whoever answers for the
marketplace could list any key. A rotation therefore carries an *endorsement*: the old key,
while it still signs, signs a statement naming the new key. An instance that trusts the
old key (pinned, or itself endorsed) then trusts the new one (the reference client,
``clients/fastvue_license``, follows such chains).

The statement is signed over its canonical JSON (``domain.licensing.canonical_json``), in
the envelope every signed document uses (``payload``, ``signature``, ``key_id``).
"""

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, StringConstraints, model_validator

KeyId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]


class KeyEndorsement(BaseModel):
    """``key_id`` (the endorsing key, which signs this) vouches for ``new_key_id``, whose
    public key is ``new_public_key_pem``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["license_key_endorsement"] = "license_key_endorsement"
    contract: Literal[1] = 1
    key_id: KeyId
    new_key_id: KeyId
    new_public_key_pem: Annotated[str, StringConstraints(max_length=1000)]
    issued_at: AwareDatetime

    @model_validator(mode="after")
    def _another_key(self) -> "KeyEndorsement":
        if self.key_id == self.new_key_id:
            raise ValueError("a key does not endorse itself")
        return self
