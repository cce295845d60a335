"""Code signing: signatures verify in Python and with the stock openssl CLI, rotation keeps
old signatures valid, the development key is made once, bad keys are refused; a signed
statement binds the signature to one module, version and archive."""

import base64
import hashlib
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from domain import module_signature
from integrations import signing
from integrations.signing import (
    KeyRing,
    key_id,
    statement_verifies_with_public_pem,
    verify_with_public_pem,
)


def _p256() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


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
    return signing.public_pem(key.public_key())


def _archive(tmp_path: Path, size: int = 50_000) -> Path:
    path = tmp_path / "hello_fastvue-1.2.0.zip"
    path.write_bytes(bytes(i * 7 % 251 for i in range(size)))
    return path


def _flip_byte(path: Path, offset: int = 1234) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def _openssl_verifies(tmp_path: Path, archive: Path, pem: str, signature_b64: str) -> bool:
    (tmp_path / "pub.pem").write_text(pem)
    (tmp_path / "sig.der").write_bytes(base64.b64decode(signature_b64))
    result = subprocess.run(
        ["openssl", "dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig.der", archive],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert result.returncode in (0, 1), result.stderr
    return result.returncode == 0 and "Verified OK" in result.stdout


def test_signature_verifies_in_python_and_with_openssl(tmp_path):
    ring = KeyRing(_p256())
    archive = _archive(tmp_path)

    signed = ring.sign_file(archive)

    assert signed.algorithm == "ecdsa-p256-sha256"
    assert signed.key_id == ring.current_key_id
    assert ring.verify_file(archive, signed.signature_b64, signed.key_id)
    pem = ring.public_keys()[0].pem
    assert verify_with_public_pem(archive, signed.signature_b64, pem)
    assert _openssl_verifies(tmp_path, archive, pem, signed.signature_b64)

    _flip_byte(archive)

    assert not ring.verify_file(archive, signed.signature_b64, signed.key_id)
    assert not verify_with_public_pem(archive, signed.signature_b64, pem)
    assert not _openssl_verifies(tmp_path, archive, pem, signed.signature_b64)


def test_file_is_hashed_in_chunks(tmp_path, monkeypatch):
    """With a tiny chunk size the digest still covers every byte, and openssl agrees."""
    monkeypatch.setattr(signing, "CHUNK_SIZE", 7)
    archive = _archive(tmp_path, size=10_001)
    assert signing.file_sha256(archive) == hashlib.sha256(archive.read_bytes()).digest()

    ring = KeyRing(_p256())
    signed = ring.sign_file(archive)
    assert _openssl_verifies(tmp_path, archive, ring.public_keys()[0].pem, signed.signature_b64)


def test_key_id_is_the_spki_sha256_prefix():
    key = _p256()
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert key_id(key.public_key()) == hashlib.sha256(der).hexdigest()[:16]
    assert KeyRing(key).current_key_id == key_id(key.public_key())


@pytest.mark.parametrize("garbage", ["", "not base64!", "AAAA", "=" * 8])
def test_malformed_signatures_are_false_not_errors(tmp_path, garbage):
    ring = KeyRing(_p256())
    archive = _archive(tmp_path)
    assert not ring.verify_file(archive, garbage, ring.current_key_id)
    assert not verify_with_public_pem(archive, garbage, ring.public_keys()[0].pem)


def test_rotation_keeps_old_signatures_valid(tmp_path):
    key_a, key_b = _p256(), _p256()
    archive = _archive(tmp_path)
    old = KeyRing(key_a).sign_file(archive)

    rotated = KeyRing(key_b, [key_a.public_key()])
    new = rotated.sign_file(archive)

    assert new.key_id == key_id(key_b.public_key()) != old.key_id
    assert rotated.verify_file(archive, old.signature_b64, old.key_id)
    assert rotated.verify_file(archive, new.signature_b64, new.key_id)
    # A signature only counts for the key it names.
    assert not rotated.verify_file(archive, old.signature_b64, new.key_id)
    assert not rotated.verify_file(archive, new.signature_b64, old.key_id)
    assert not rotated.verify_file(archive, old.signature_b64, "0123456789abcdef")

    listed = [(info.key_id, info.status) for info in rotated.public_keys()]
    assert listed == [(new.key_id, "current"), (old.key_id, "retired")]
    assert rotated.public_keys()[1].pem == _public_pem(key_a)
    assert _openssl_verifies(tmp_path, archive, rotated.public_keys()[1].pem, old.signature_b64)

    # Retiring a key drops it: its signatures no longer verify.
    assert not KeyRing(key_b).verify_file(archive, old.signature_b64, old.key_id)


def test_current_key_listed_as_retired_is_current_once():
    key = _p256()
    ring = KeyRing(key, [key.public_key()])
    assert [info.status for info in ring.public_keys()] == ["current"]


def test_from_settings_loads_pems(tmp_path):
    key_a, key_b = _p256(), _p256()
    ring = KeyRing.from_settings(_private_pem(key_b), [_public_pem(key_a)], tmp_path)

    assert ring.current_key_id == key_id(key_b.public_key())
    assert [info.status for info in ring.public_keys()] == ["current", "retired"]
    assert not (tmp_path / "keys").exists()  # no dev key when one is configured

    one_line = _private_pem(key_b).replace("\n", "\\n")  # as pasted into an env variable
    assert KeyRing.from_settings(one_line, [], tmp_path).current_key_id == ring.current_key_id


def test_dev_key_is_generated_once_and_reused(tmp_path):
    first = KeyRing.from_settings(None, [], tmp_path)
    key_file = tmp_path / "keys" / "signing-key.pem"

    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert [p.name for p in key_file.parent.iterdir()] == ["signing-key.pem"]

    second = KeyRing.from_settings("", [], tmp_path)
    assert second.current_key_id == first.current_key_id

    archive = _archive(tmp_path)
    signed = first.sign_file(archive)
    assert second.verify_file(archive, signed.signature_b64, signed.key_id)


def test_a_corrupt_dev_key_is_a_clear_error(tmp_path):
    key_file = tmp_path / "keys" / "signing-key.pem"
    key_file.parent.mkdir()
    key_file.write_text("garbage")

    with pytest.raises(ValueError, match="development signing key"):
        KeyRing.from_settings(None, [], tmp_path)
    assert key_file.read_text() == "garbage"  # never silently replaced


@pytest.mark.parametrize(
    ("pem", "message"),
    [
        ("not a pem", "not a valid unencrypted PEM private key"),
        (_private_pem(ec.generate_private_key(ec.SECP384R1())), "P-256"),
        (_private_pem(rsa.generate_private_key(65537, 2048)), "ECDSA P-256"),
        (_private_pem(ed25519.Ed25519PrivateKey.generate()), "ECDSA P-256"),
        (_private_pem(_p256(), password=b"secret"), "unencrypted"),
        (_public_pem(_p256()), "not a valid unencrypted PEM private key"),
    ],
    ids=["garbage", "p384", "rsa", "ed25519", "encrypted", "public-key"],
)
def test_bad_private_keys_are_refused(tmp_path, pem, message):
    with pytest.raises(ValueError, match=message):
        KeyRing.from_settings(pem, [], tmp_path)


@pytest.mark.parametrize(
    "pem",
    [
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        signing.public_pem(ec.generate_private_key(ec.SECP384R1()).public_key()),
    ],
    ids=["garbage", "p384"],
)
def test_bad_public_keys_are_refused(tmp_path, pem):
    with pytest.raises(ValueError, match="retired signing key #2"):
        KeyRing.from_settings(_private_pem(_p256()), [_public_pem(_p256()), pem], tmp_path)
    with pytest.raises(ValueError):
        verify_with_public_pem(_archive(tmp_path), "AAAA", pem)


def test_keyring_refuses_other_curves():
    with pytest.raises(ValueError, match="P-256"):
        KeyRing(ec.generate_private_key(ec.SECP384R1()))
    with pytest.raises(ValueError, match="P-256"):
        KeyRing(_p256(), [ec.generate_private_key(ec.SECP256K1()).public_key()])


# --- signed statements (format v2) -----------------------------------------------------------

SHA_A = hashlib.sha256(b"module a").hexdigest()


def _statement(slug="acme-charts", technical_name="acme_charts", version="1.2.0", sha256=SHA_A):
    return module_signature.statement(
        slug=slug, technical_name=technical_name, version=version, sha256=sha256
    )


def _openssl_verifies_bytes(tmp_path: Path, data: bytes, pem: str, signature_b64: str) -> bool:
    message = tmp_path / "statement.txt"
    message.write_bytes(data)
    return _openssl_verifies(tmp_path, message, pem, signature_b64)


def test_the_statement_is_a_documented_byte_form():
    assert _statement() == (
        "fastvue-module-signature/v2\n"
        "module: acme-charts\n"
        "technical_name: acme_charts\n"
        "version: 1.2.0\n"
        f"sha256: {SHA_A}\n"
    )


@pytest.mark.parametrize(
    "part",
    [
        {"slug": "acme-charts\nversion: 9.9.9"},
        {"slug": "Acme Charts"},
        {"technical_name": "acme_charts "},
        {"version": "1.2.0\nsha256: " + "0" * 64},
        {"version": ""},
        {"sha256": SHA_A.upper()},
        {"sha256": SHA_A[:-1]},
    ],
)
def test_a_statement_part_that_could_read_as_another_is_refused(part):
    with pytest.raises(ValueError, match="cannot be part of a signed statement"):
        _statement(**part)


def test_a_statement_signature_verifies_in_python_and_with_openssl(tmp_path):
    ring = KeyRing(_p256())
    text = _statement()
    signed = ring.sign_statement(text)
    pem = ring.public_keys()[0].pem

    assert signed.key_id == ring.current_key_id
    assert ring.verify_statement(text, signed.signature_b64, signed.key_id)
    assert statement_verifies_with_public_pem(text, signed.signature_b64, pem)
    assert _openssl_verifies_bytes(tmp_path, text.encode(), pem, signed.signature_b64)
    assert not ring.verify_statement(text, signed.signature_b64, "0123456789abcdef")


def test_a_signature_for_module_a_does_not_pass_for_module_b(tmp_path):
    """The audit's finding: the hash-only signature says nothing of which module the bytes
    are, so a marketplace-signed archive of A passed the documented check presented as B.
    A statement signature names the module, version and hash: it passes only for A."""
    ring = KeyRing(_p256())
    pem = ring.public_keys()[0].pem
    archive_a = _archive(tmp_path)

    legacy = ring.sign_file(archive_a)  # what was signed before statements
    assert _openssl_verifies(tmp_path, archive_a, pem, legacy.signature_b64), (
        "the old check holds for A's archive whichever module it is said to be"
    )

    sha = signing.file_sha256(archive_a).hex()
    signed_a = ring.sign_statement(_statement(sha256=sha))
    for claimed in (
        _statement(slug="other-module", technical_name="other_module", sha256=sha),
        _statement(slug="other-module", sha256=sha),
        _statement(technical_name="other_module", sha256=sha),
        _statement(version="1.2.1", sha256=sha),
        _statement(sha256=hashlib.sha256(b"another archive").hexdigest()),
    ):
        assert not ring.verify_statement(claimed, signed_a.signature_b64, signed_a.key_id)
        assert not statement_verifies_with_public_pem(claimed, signed_a.signature_b64, pem)
        assert not _openssl_verifies_bytes(tmp_path, claimed.encode(), pem, signed_a.signature_b64)
    assert ring.verify_statement(_statement(sha256=sha), signed_a.signature_b64, signed_a.key_id)
    # Nor does a statement signature pass as a hash-only one, or the other way round.
    assert not ring.verify_file(archive_a, signed_a.signature_b64, signed_a.key_id)
    assert not ring.verify_statement(_statement(sha256=sha), legacy.signature_b64, legacy.key_id)


def test_legacy_signatures_still_verify_after_rotation(tmp_path):
    key_a, key_b = _p256(), _p256()
    archive = _archive(tmp_path)
    legacy = KeyRing(key_a).sign_file(archive)
    rotated = KeyRing(key_b, [key_a.public_key()])
    assert rotated.verify_file(archive, legacy.signature_b64, legacy.key_id)
    text = _statement(sha256=signing.file_sha256(archive).hex())
    new = rotated.sign_statement(text)
    assert new.key_id != legacy.key_id
    assert rotated.verify_statement(text, new.signature_b64, new.key_id)
