"""Uploading a version: what is refused at the door, before any pipeline starts."""

import pytest
from sqlalchemy import func, select

from domain.access import Role
from models.module import ModuleVersion
from tests import archives


async def versions_count(db) -> int:
    async with db() as session:
        return await session.scalar(select(func.count()).select_from(ModuleVersion))


async def post(api, owner, module_id, **kwargs):
    return await api.request(
        "POST", f"/api/v1/publisher/modules/{module_id}/versions", as_user=owner, **kwargs
    )


@pytest.fixture
async def sample_listing(make):
    owner, publisher = await make.publisher()
    module = await make.module(publisher, technical_name=archives.TECHNICAL_NAME)
    return owner, module


CASES = [
    ("json body", {"json": {"file": "x"}}, 400, "multipart_required"),
    (
        "no file part",
        {"data": {"release_notes": "x"}, "files": {"other": ("a", b"b")}},
        400,
        "file_required",
    ),
    ("empty file", {"files": {"file": ("p.zip", b"", "application/zip")}}, 400, "empty_upload"),
    ("not a zip", {"files": {"file": ("p.zip", b"hello", "application/zip")}}, 400, "not_a_zip"),
    (
        "two files",
        {
            "files": [
                ("file", ("a.zip", archives.sample_zip())),
                ("file", ("b.zip", archives.sample_zip())),
            ]
        },
        400,
        "one_file_only",
    ),
    (
        "notes too long",
        {
            "files": {"file": ("p.zip", archives.sample_zip())},
            "data": {"release_notes": "x" * 20_001},
        },
        400,
        "field_too_long",
    ),
]


@pytest.mark.parametrize(
    ("kwargs", "status", "code"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
async def test_bad_uploads_are_refused_and_leave_nothing(
    api, sample_listing, db, kwargs, status, code
):
    owner, module = sample_listing
    response = await post(api, owner, module.id, **kwargs)
    assert response.status_code == status, response.text
    assert response.json()["error"] == code
    assert await versions_count(db) == 0
    assert not list((api.settings.upload_dir).glob("*")), "the temporary file was left behind"


async def test_an_upload_over_the_cap_is_413_and_leaves_nothing(api, sample_listing, db):
    owner, module = sample_listing
    api.http._transport.app.state.settings = api.settings.model_copy(
        update={"max_upload_bytes": 1024}
    )
    response = await post(
        api, owner, module.id, files={"file": ("p.zip", archives.sample_zip() + b"x" * 4096)}
    )
    assert response.status_code == 413
    assert response.json()["error"] == "upload_too_large"
    assert await versions_count(db) == 0


async def test_a_token_with_only_the_publish_scope_can_upload(api, sample_listing, make):
    owner, module = sample_listing
    created = await api.request(
        "POST", "/api/v1/auth/tokens", as_user=owner, json={"name": "ci", "scopes": ["publish"]}
    )
    token = created.json()["token"]
    response = await api.request(
        "POST",
        f"/api/v1/publisher/modules/{module.id}/versions",
        headers={"Authorization": f"Bearer {token}"},
        files={"file": ("p.zip", archives.sample_zip())},
    )
    assert response.status_code == 202, response.text
    assert response.json()["version"]["version"] == "1.0.0"
    listed = await api.request(
        "GET",
        f"/api/v1/publisher/modules/{module.id}/versions",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert [v["version"] for v in listed.json()] == ["1.0.0"]
    account_only = await api.request(
        "POST", "/api/v1/auth/tokens", as_user=owner, json={"name": "x", "scopes": ["account"]}
    )
    refused = await api.request(
        "POST",
        f"/api/v1/publisher/modules/{module.id}/versions",
        headers={"Authorization": f"Bearer {account_only.json()['token']}"},
        files={"file": ("p.zip", archives.sample_zip())},
    )
    assert refused.status_code == 403
    assert refused.json()["error"] == "insufficient_scope"
    consumer = await make.user(Role.CONSUMER)
    assert (
        await post(api, consumer, module.id, files={"file": ("p.zip", b"x")})
    ).status_code == 403


async def test_only_a_rejected_or_held_version_shows_rejection_reasons(api, db, sample_listing):
    """A version published before approvals cleared its hold reason still reads clean."""
    owner, module = sample_listing
    stale = [{"code": "audit_unavailable", "detail": "down", "step": "scan", "data": {}}]
    async with db() as session:
        for number, status in (("1.0.0", "published"), ("1.1.0", "manual_review")):
            session.add(
                ModuleVersion(
                    module_id=module.id,
                    version=number,
                    zip_file_url=f"staging/{number}.zip",
                    status=status,
                    rejection_reasons=stale,
                )
            )
        await session.commit()
    base = f"/api/v1/publisher/modules/{module.id}/versions"
    published = (await api.request("GET", f"{base}/1.0.0", as_user=owner)).json()
    assert (published["status"], published["rejection_reasons"]) == ("published", [])
    held = (await api.request("GET", f"{base}/1.1.0", as_user=owner)).json()
    assert [r["code"] for r in held["rejection_reasons"]] == ["audit_unavailable"]
    listed = (await api.request("GET", base, as_user=owner)).json()
    assert {v["version"]: len(v["rejection_reasons"]) for v in listed} == {"1.0.0": 0, "1.1.0": 1}


def multipart(*parts: tuple[bytes, bytes]) -> tuple[bytes, dict[str, str]]:
    """A raw multipart body of (headers, content) parts, the file first: refused parts
    arrive after it is already on disk."""
    boundary = b"limits-boundary"
    body = b"".join(
        b"--" + boundary + b"\r\n" + head + b"\r\n\r\n" + data + b"\r\n" for head, data in parts
    )
    return body + b"--" + boundary + b"--\r\n", {
        "content-type": f"multipart/form-data; boundary={boundary.decode()}"
    }


def file_part() -> tuple[bytes, bytes]:
    return (
        b'Content-Disposition: form-data; name="file"; filename="p.zip"',
        archives.sample_zip(),
    )


def text_part(name: str, text: bytes) -> tuple[bytes, bytes]:
    return (f'Content-Disposition: form-data; name="{name}"'.encode(), text)


FORM_LIMIT_CASES = [
    ("many small fields", [text_part(f"f{n}", b"x") for n in range(40)], "too_many_parts"),
    (
        "text fields too large together",
        [text_part(f"f{n}", b"x" * 19_000) for n in range(4)],
        "fields_too_large",
    ),
]


@pytest.mark.parametrize(
    ("parts", "code"), [c[1:] for c in FORM_LIMIT_CASES], ids=[c[0] for c in FORM_LIMIT_CASES]
)
async def test_form_parts_are_capped_in_number_and_total_and_leave_nothing(
    api, sample_listing, db, parts, code
):
    """Each text part is capped; so are how many parts come and their text together, which
    are otherwise held in memory however many arrive."""
    owner, module = sample_listing
    body, headers = multipart(file_part(), *parts)
    response = await post(api, owner, module.id, content=body, headers=headers)
    assert response.status_code == 413, response.text
    assert response.json()["error"] == code
    assert await versions_count(db) == 0
    assert not list((api.settings.upload_dir).glob("*")), "the temporary file was left behind"


async def test_the_form_limits_are_settings(api, sample_listing, db):
    owner, module = sample_listing
    api.http._transport.app.state.settings = api.settings.model_copy(
        update={"upload_max_parts": 2, "upload_max_text_bytes": 10}
    )
    body, headers = multipart(file_part(), text_part("release_notes", b"x" * 11))
    response = await post(api, owner, module.id, content=body, headers=headers)
    assert response.json()["error"] == "fields_too_large"
    body, headers = multipart(file_part(), text_part("a", b"x"), text_part("b", b"x"))
    response = await post(api, owner, module.id, content=body, headers=headers)
    assert response.json()["error"] == "too_many_parts"
    assert await versions_count(db) == 0
