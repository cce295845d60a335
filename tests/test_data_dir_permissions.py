"""What our code writes under the data dir is private: files 0600, their folders 0700.

Payment state, mail (reset links, addresses), stored archives and the Temporal database
would otherwise be readable by every account on the machine. The data dir root itself is
left alone: the embedded Postgres runs as another user and must traverse it."""

import os
import stat
import subprocess
from email.message import EmailMessage
from pathlib import Path

import pytest

from cli import embedded
from integrations.mail import FileMailer
from integrations.payments import PaymentRequest
from integrations.payments.local import LocalGateway
from integrations.storage import LocalStorage


@pytest.fixture(autouse=True)
def permissive_umask():
    """The usual umask (022) would make a careless file 0644; be sure we never rely on it."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def assert_private_file(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    assert mode & 0o077 == 0, f"{path} is {oct(mode)}"


def assert_private_folder(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    assert mode == 0o700, f"{path} is {oct(mode)}"


def files_under(folder: Path) -> list[Path]:
    found = [path for path in folder.rglob("*") if path.is_file()]
    assert found, f"nothing was written under {folder}"
    return found


async def test_local_gateway_state_and_lock_files_are_private(tmp_path):
    folder = tmp_path / "data" / "payments"
    gateway = LocalGateway(folder, "http://x")
    payment = await gateway.create_payment(
        PaymentRequest(
            reference="MP-1",
            amount_minor=1000,
            currency="EUR",
            description="modules",
            idempotency_key="checkout:MP-1:charge",
            payment_method="4242 4242 4242 4242",
        )
    )
    await gateway.cancel_payment(payment.payment_id)  # a rewrite of the state file
    assert_private_folder(folder)
    names = set()
    for path in files_under(folder):
        assert_private_file(path)
        names.add(path.suffix)
    assert names == {".json", ".lock"}, "a temporary file was left behind"


def test_file_mailer_messages_are_private(tmp_path):
    folder = tmp_path / "data" / "mail"
    message = EmailMessage()
    message["To"] = "buyer@example.com"
    message["Subject"] = "Reset your password"
    message.set_content("https://market.example/reset?token=secret")
    mailer = FileMailer(folder)
    mailer.send(message, dedupe_key="reset:1")
    mailer.send(message, dedupe_key="reset:1")  # the retry overwrites
    assert_private_folder(folder)
    [written] = files_under(folder)
    assert written.name == "reset_1.eml"
    assert_private_file(written)


def test_a_mail_folder_made_by_an_older_version_is_tightened(tmp_path):
    folder = tmp_path / "mail"
    folder.mkdir(mode=0o755)
    FileMailer(folder).send(EmailMessage(), dedupe_key="k")
    assert_private_folder(folder)


def test_local_storage_files_and_every_folder_are_private(tmp_path):
    root = tmp_path / "data" / "storage"
    source = tmp_path / "upload.zip"
    source.write_bytes(b"PK\x05\x06" + bytes(18))
    storage = LocalStorage(root, "http://x", b"k" * 32)
    storage.put_file("modules/hello/1.0.0/hello.zip", source)
    assert_private_folder(root)
    for folder in (root / "modules", root / "modules/hello", root / "modules/hello/1.0.0"):
        assert_private_folder(folder)
    for path in files_under(root):
        assert_private_file(path)


def test_temporal_database_and_log_live_in_a_private_folder(tmp_path, monkeypatch):
    """start_temporal's own files, with the server replaced by one that creates its
    database the way SQLite does (default mode) and exits; the old root location moves."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "temporal.db").write_bytes(b"old history")
    (data / "temporal.db").chmod(0o644)
    started = []
    real_popen = subprocess.Popen

    def fake_popen(command, **kwargs):
        database = Path(command[command.index("--db-filename") + 1])
        started.append(database)
        database.touch()
        return real_popen(["true"], **kwargs)

    monkeypatch.setattr(embedded.subprocess, "Popen", fake_popen)
    monkeypatch.setattr(embedded, "venv_executable", lambda name: name)
    monkeypatch.setattr(embedded, "wait_for_port", lambda *args, **kwargs: None)
    embedded.start_temporal(data, port=1, ui_port=2).wait()

    folder = data / "temporal"
    assert started == [(folder / "temporal.db").resolve()]
    assert (folder / "temporal.db").read_bytes() == b"old history"
    assert not (data / "temporal.db").exists()
    assert_private_folder(folder)
    assert {path.name for path in files_under(folder)} == {"temporal.db", "temporal.log"}
    for path in files_under(folder):
        assert_private_file(path)
    assert stat.S_IMODE(data.stat().st_mode) & 0o055 == 0o055, "the root stays traversable"
