"""Ed25519 license signing: signatures verify in Python and with the stock openssl CLI,
tampering fails, rotation keeps old signatures valid by key id, the development key is made
once, bad keys are refused, and signed documents come back only when they verify."""

import base64
import hashlib
import json
import stat
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from domain.licensing import LicenseAnswer, OfflineLicense, canonical_bytes, license_key_hash
from integrations import license_signing, private_files
from integrations.license_signing import (
    LicenseKeyRing,
    key_id,
    verify_document,
    verify_with_public_pem,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
MASKED = "FVM-*****-*****-*****-*****-*****-STVW3"
KEY_SHA = license_key_hash("FVM-01234-56789-ABCDE-FGHJK-MNPQR-STVW3")
PAYLOAD = b'{"code":"VALID","module":"hello_fastvue"}'


def _ed25519() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def _private_pem(key, password: bytes | None = None) -> str:
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    ).decode()


def _public_pem(key) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _answer(ring: LicenseKeyRing, **changes) -> LicenseAnswer:
    fields = {
        "key_id": ring.key_id,
        "operation": "verify",
        "status": "granted",
        "code": "VALID",
        "license_key": MASKED,
        "license_key_sha256": KEY_SHA,
        "module": "hello_fastvue",
        "module_slug": "hello-fastvue",
        "allowed_versions": ">=1.0,<2",
        "expires_at": NOW + timedelta(days=365),
        "instance_id": "inst-a",
        "domain": "shop.example.com",
        "issued_at": NOW,
        "valid_until": NOW + timedelta(hours=24),
        "nonce": "abc123-0123456789",
    }
    return LicenseAnswer(**{**fields, **changes})


def _offline(ring: LicenseKeyRing, **changes) -> OfflineLicense:
    fields = {
        "key_id": ring.key_id,
        "license_id": 7,
        "license_key": MASKED,
        "license_key_sha256": KEY_SHA,
        "module": "hello_fastvue",
        "module_slug": "hello-fastvue",
        "licensee": "M\u00fcller GmbH",
        "instance_id": "inst-a",
        "domain": "shop.example.com",
        "issued_at": NOW,
        "not_after": NOW + timedelta(days=30),
    }
    return OfflineLicense(**{**fields, **changes})


def _openssl_verifies(tmp_path: Path, payload: bytes, pem: str, signature_b64: str) -> bool:
    (tmp_path / "pub.pem").write_text(pem)
    (tmp_path / "payload").write_bytes(payload)
    (tmp_path / "sig").write_bytes(base64.b64decode(signature_b64))
    result = subprocess.run(
        [
            "openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem",
            "-rawin", "-in", "payload", "-sigfile", "sig",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    return result.returncode == 0 and "Signature Verified Successfully" in result.stdout


def test_signature_verifies_in_python_and_with_openssl(tmp_path):
    ring = LicenseKeyRing(_ed25519())

    signed = ring.sign(PAYLOAD)

    assert signed.algorithm == "ed25519"
    assert signed.key_id == ring.key_id
    assert len(base64.b64decode(signed.signature_b64)) == 64
    pem = ring.public_keys()[0].pem
    assert ring.verify(PAYLOAD, signed.signature_b64, signed.key_id)
    assert verify_with_public_pem(PAYLOAD, signed.signature_b64, pem)
    assert _openssl_verifies(tmp_path, PAYLOAD, pem, signed.signature_b64)

    tampered = PAYLOAD.replace(b"VALID", b"VALIE")
    assert not ring.verify(tampered, signed.signature_b64, signed.key_id)
    assert not verify_with_public_pem(tampered, signed.signature_b64, pem)
    assert not _openssl_verifies(tmp_path, tampered, pem, signed.signature_b64)


def test_signed_document_verifies_with_openssl_over_its_payload_text(tmp_path):
    ring = LicenseKeyRing(_ed25519())
    answer = _answer(ring)

    doc = ring.sign_document(answer)

    assert set(doc) == {"payload", "signature", "key_id"}
    assert doc["key_id"] == ring.key_id
    assert doc["payload"].encode() == canonical_bytes(answer)
    # What travels is JSON; the payload survives a round trip as the same text.
    doc = json.loads(json.dumps(doc))
    pem = ring.public_keys()[0].pem
    assert _openssl_verifies(tmp_path, doc["payload"].encode(), pem, doc["signature"])
    assert verify_document(doc, pem) == answer
    assert verify_document(doc, pem, LicenseAnswer) == answer
    assert verify_document(doc, pem, OfflineLicense) is None


def test_offline_license_round_trip_with_unicode(tmp_path):
    ring = LicenseKeyRing(_ed25519())
    license_file = _offline(ring)

    doc = ring.sign_document(license_file)

    assert "M\u00fcller" in doc["payload"]
    pem = ring.public_keys()[0].pem
    assert _openssl_verifies(tmp_path, doc["payload"].encode(), pem, doc["signature"])
    assert verify_document(doc, pem, OfflineLicense) == license_file
    assert verify_document(doc, pem, LicenseAnswer) is None


def _replace_in_payload(doc: dict, old: str, new: str) -> dict:
    assert old in doc["payload"]
    return {**doc, "payload": doc["payload"].replace(old, new)}


TAMPERINGS = [
    ("code", lambda d: _replace_in_payload(d, '"code":"VALID"', '"code":"REVOKED"')),
    ("instance", lambda d: _replace_in_payload(d, '"inst-a"', '"inst-b"')),
    ("expiry", lambda d: _replace_in_payload(d, '"expires_at":"2026', '"expires_at":"2036')),
    ("whitespace", lambda d: _replace_in_payload(d, ',"module"', ', "module"')),
    ("re-serialized", lambda d: {**d, "payload": json.dumps(json.loads(d["payload"]), indent=1)}),
    ("signature-bit", lambda d: {**d, "signature": _flip_signature(d["signature"])}),
    ("signature-garbage", lambda d: {**d, "signature": "not base64!"}),
    ("signature-junk-inside", lambda d: {**d, "signature": "!" + d["signature"]}),
    ("signature-empty", lambda d: {**d, "signature": ""}),
    ("signature-missing", lambda d: {k: v for k, v in d.items() if k != "signature"}),
    ("payload-missing", lambda d: {k: v for k, v in d.items() if k != "payload"}),
    ("payload-bytes", lambda d: {**d, "payload": d["payload"].encode()}),
    ("payload-surrogate", lambda d: {**d, "payload": d["payload"] + "\ud800"}),
    ("not-a-dict", lambda d: [d["payload"], d["signature"]]),
    ("none", lambda d: None),
]


def _flip_signature(signature_b64: str) -> str:
    raw = bytearray(base64.b64decode(signature_b64))
    raw[10] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


@pytest.mark.parametrize("tamper", [r[1] for r in TAMPERINGS], ids=[r[0] for r in TAMPERINGS])
def test_tampered_documents_do_not_verify(tamper):
    ring = LicenseKeyRing(_ed25519())
    doc = ring.sign_document(_answer(ring))
    pem = ring.public_keys()[0].pem
    assert verify_document(doc, pem) is not None

    assert verify_document(tamper(doc), pem) is None


def test_a_document_verifies_only_with_the_key_that_signed_it():
    ring, other = LicenseKeyRing(_ed25519()), LicenseKeyRing(_ed25519())
    doc = ring.sign_document(_answer(ring))

    assert verify_document(doc, other.public_keys()[0].pem) is None
    # The key id beside the signature is a hint, not trusted: lying about it changes nothing.
    assert verify_document({**doc, "key_id": other.key_id}, ring.public_keys()[0].pem) is not None
    assert verify_document({**doc, "key_id": other.key_id}, other.public_keys()[0].pem) is None


def test_signed_garbage_is_not_a_document():
    """A valid signature over something that is not one of our documents is still None."""
    ring = LicenseKeyRing(_ed25519())
    pem = ring.public_keys()[0].pem
    for payload in ['{"kind":"license_answer"}', "[]", '{"anything":1}']:
        signed = ring.sign(payload.encode())
        doc = {"payload": payload, "signature": signed.signature_b64, "key_id": ring.key_id}
        assert verify_with_public_pem(payload.encode(), signed.signature_b64, pem)
        assert verify_document(doc, pem) is None


@pytest.mark.parametrize("make", [_answer, _offline], ids=["answer", "offline"])
def test_a_document_must_name_the_signing_key(make):
    ring = LicenseKeyRing(_ed25519())
    with pytest.raises(ValueError, match="names key 0123456789abcdef"):
        ring.sign_document(make(ring, key_id="0123456789abcdef"))

    # Signed by this key but naming another (only a buggy or hostile signer does that).
    mislabelled = make(ring, key_id="0123456789abcdef")
    payload = canonical_bytes(mislabelled)
    doc = {
        "payload": payload.decode(),
        "signature": ring.sign(payload).signature_b64,
        "key_id": ring.key_id,
    }
    assert verify_document(doc, ring.public_keys()[0].pem) is None


def test_only_license_documents_are_signed():
    ring = LicenseKeyRing(_ed25519())
    with pytest.raises(TypeError):
        ring.sign_document({"code": "VALID"})  # type: ignore[arg-type]


def test_key_id_is_the_spki_sha256_prefix():
    key = _ed25519()
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert key_id(key.public_key()) == hashlib.sha256(der).hexdigest()[:16]
    assert LicenseKeyRing(key).key_id == key_id(key.public_key())


@pytest.mark.parametrize("garbage", ["", "not base64!", "AAAA", "=" * 8, "A" * 88])
def test_malformed_signatures_are_false_not_errors(garbage):
    ring = LicenseKeyRing(_ed25519())
    assert not ring.verify(PAYLOAD, garbage, ring.key_id)
    assert not verify_with_public_pem(PAYLOAD, garbage, ring.public_keys()[0].pem)


def test_rotation_keeps_old_signatures_valid(tmp_path):
    key_a, key_b = _ed25519(), _ed25519()
    old = LicenseKeyRing(key_a).sign(PAYLOAD)
    old_answer = _answer(LicenseKeyRing(key_a))
    old_doc = LicenseKeyRing(key_a).sign_document(old_answer)

    rotated = LicenseKeyRing(key_b, [key_a.public_key()])
    new = rotated.sign(PAYLOAD)

    assert new.key_id == key_id(key_b.public_key()) != old.key_id
    assert rotated.key_id == new.key_id
    assert rotated.verify(PAYLOAD, old.signature_b64, old.key_id)
    assert rotated.verify(PAYLOAD, new.signature_b64, new.key_id)
    # A signature only counts for the key it names.
    assert not rotated.verify(PAYLOAD, old.signature_b64, new.key_id)
    assert not rotated.verify(PAYLOAD, new.signature_b64, old.key_id)
    assert not rotated.verify(PAYLOAD, old.signature_b64, "0123456789abcdef")

    listed = [(info.key_id, info.status) for info in rotated.public_keys()]
    assert listed == [(new.key_id, "current"), (old.key_id, "retired")]
    retired_pem = rotated.public_keys()[1].pem
    assert retired_pem == _public_pem(key_a)
    assert _openssl_verifies(tmp_path, PAYLOAD, retired_pem, old.signature_b64)
    assert rotated.verify(old_doc["payload"].encode(), old_doc["signature"], old_doc["key_id"])
    assert verify_document(old_doc, retired_pem) == old_answer
    assert verify_document(old_doc, rotated.public_keys()[0].pem) is None
    # New documents are signed by the new key only, and name it inside the signed text.
    signed_new = rotated.sign_document(_answer(rotated))
    assert signed_new["key_id"] == new.key_id
    assert f'"key_id":"{new.key_id}"' in signed_new["payload"]
    with pytest.raises(ValueError, match="names key"):
        rotated.sign_document(old_answer)

    # Retiring a key drops it: its signatures no longer verify.
    assert not LicenseKeyRing(key_b).verify(PAYLOAD, old.signature_b64, old.key_id)


def test_current_key_listed_as_retired_is_current_once():
    key = _ed25519()
    ring = LicenseKeyRing(key, [key.public_key(), key.public_key()])
    assert [info.status for info in ring.public_keys()] == ["current"]


def test_from_settings_loads_pems(tmp_path):
    key_a, key_b = _ed25519(), _ed25519()
    ring = LicenseKeyRing.from_settings(_private_pem(key_b), [_public_pem(key_a)], tmp_path)

    assert ring.key_id == key_id(key_b.public_key())
    assert [info.status for info in ring.public_keys()] == ["current", "retired"]
    assert not (tmp_path / "keys").exists()  # no dev key when one is configured

    one_line = _private_pem(key_b).replace("\n", "\\n")  # as pasted into an env variable
    assert LicenseKeyRing.from_settings(one_line, [], tmp_path).key_id == ring.key_id


def test_dev_key_is_generated_once_and_reused(tmp_path):
    first = LicenseKeyRing.from_settings(None, [], tmp_path)
    key_file = tmp_path / "keys" / "license-key.pem"

    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert [p.name for p in key_file.parent.iterdir()] == ["license-key.pem"]
    assert isinstance(
        serialization.load_pem_private_key(key_file.read_bytes(), None),
        ed25519.Ed25519PrivateKey,
    )
    content = key_file.read_bytes()

    second = LicenseKeyRing.from_settings("", [], tmp_path)
    assert second.key_id == first.key_id
    assert key_file.read_bytes() == content

    signed = first.sign(PAYLOAD)
    assert second.verify(PAYLOAD, signed.signature_b64, signed.key_id)


def test_dev_key_lives_beside_the_module_signing_key(tmp_path):
    """Both keyrings share data_dir/keys without clobbering each other."""
    from integrations.signing import KeyRing

    module_ring = KeyRing.from_settings(None, [], tmp_path)
    license_ring = LicenseKeyRing.from_settings(None, [], tmp_path)

    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == [
        "license-key.pem",
        "signing-key.pem",
    ]
    assert module_ring.current_key_id != license_ring.key_id


def test_dev_key_race_loser_loads_the_winner(tmp_path, monkeypatch):
    """If another process links its key in first, ours is discarded and theirs is used."""
    winner = _ed25519()
    key_file = tmp_path / license_signing.DEV_KEY_PATH
    real_link = private_files.os.link

    def link_after_rival(source, destination):
        Path(destination).write_text(_private_pem(winner))
        real_link(source, destination)  # raises FileExistsError, as in a real race

    monkeypatch.setattr(private_files.os, "link", link_after_rival)

    ring = LicenseKeyRing.from_settings(None, [], tmp_path)

    assert ring.key_id == key_id(winner.public_key())
    assert [p.name for p in key_file.parent.iterdir()] == ["license-key.pem"]


def test_a_corrupt_dev_key_is_a_clear_error(tmp_path):
    key_file = tmp_path / "keys" / "license-key.pem"
    key_file.parent.mkdir()
    key_file.write_text("garbage")

    with pytest.raises(ValueError, match="development license signing key"):
        LicenseKeyRing.from_settings(None, [], tmp_path)
    assert key_file.read_text() == "garbage"  # never silently replaced


def test_a_dev_key_of_the_wrong_type_is_a_clear_error(tmp_path):
    key_file = tmp_path / "keys" / "license-key.pem"
    key_file.parent.mkdir()
    key_file.write_text(_private_pem(ec.generate_private_key(ec.SECP256R1())))

    with pytest.raises(ValueError, match="must be an Ed25519 key"):
        LicenseKeyRing.from_settings(None, [], tmp_path)


@pytest.mark.parametrize(
    ("pem", "message"),
    [
        ("not a pem", "not a valid unencrypted PEM private key"),
        (_private_pem(ec.generate_private_key(ec.SECP256R1())), "must be an Ed25519 key"),
        (_private_pem(rsa.generate_private_key(65537, 2048)), "must be an Ed25519 key"),
        (_private_pem(ed448.Ed448PrivateKey.generate()), "must be an Ed25519 key"),
        (_private_pem(_ed25519(), password=b"secret"), "unencrypted"),
        (_public_pem(_ed25519()), "not a valid unencrypted PEM private key"),
    ],
    ids=["garbage", "p256", "rsa", "ed448", "encrypted", "public-key"],
)
def test_bad_private_keys_are_refused(tmp_path, pem, message):
    with pytest.raises(ValueError, match=message):
        LicenseKeyRing.from_settings(pem, [], tmp_path)
    assert not (tmp_path / "keys").exists()


@pytest.mark.parametrize(
    "pem",
    [
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        _public_pem(ec.generate_private_key(ec.SECP256R1())),
        _public_pem(ed448.Ed448PrivateKey.generate()),
        _private_pem(_ed25519()),
    ],
    ids=["garbage", "p256", "ed448", "private-key"],
)
def test_bad_public_keys_are_refused(pem):
    with pytest.raises(ValueError, match="retired license signing key #2"):
        LicenseKeyRing.from_settings(
            _private_pem(_ed25519()), [_public_pem(_ed25519()), pem], Path("/nonexistent")
        )
    with pytest.raises(ValueError):
        verify_with_public_pem(PAYLOAD, "AAAA", pem)
    with pytest.raises(ValueError):
        verify_document({"payload": "{}", "signature": "AAAA"}, pem)


def test_keyring_refuses_other_key_types():
    with pytest.raises(ValueError, match="Ed25519"):
        LicenseKeyRing(ec.generate_private_key(ec.SECP256R1()))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Ed25519"):
        LicenseKeyRing(_ed25519(), [ed448.Ed448PrivateKey.generate().public_key()])  # type: ignore[list-item]
