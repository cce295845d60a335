"""docker-compose.yml, read as a user would run it: no Docker engine, no network.

`docker-compose --env-file .env.example config -q` (Debian's docker-compose 1.29)
checks the schema; this checks what the schema cannot: services, secrets, .env.example.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from pydantic import SecretStr

from settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
COMPOSE_LINES = "\n".join(
    line for line in COMPOSE_TEXT.splitlines() if not line.lstrip().startswith("#")
)
SERVICES = COMPOSE["services"]
EXPECTED = {"postgres", "temporal", "temporal-ui", "minio", "typesense", "api", "worker", "migrate"}
REQUIRED_VAR = r"\$\{\w+:\?[^}]+\}"  # ${VAR:?message}: compose refuses to start without it
SECRET_NAME = re.compile(
    r"PASSWORD|PWD|SECRET|API_KEY|ACCESS_KEY|TOKEN|PRIVATE_KEY|ROOT_USER", re.IGNORECASE
)
APP_ENV = COMPOSE["x-app"]["environment"]
# Optional, and only in a docker-compose.override.yml that enables PayPal (.env.example).
OPTIONAL_SECRETS = {"paypal_client_secret"}


def _env_example() -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )
    return {k.strip(): v.strip() for k, v in pairs}


def _environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def test_compose_file_is_runnable_and_keeps_secrets_out():
    assert SERVICES.keys() >= EXPECTED

    assert (ROOT / "Dockerfile").is_file()
    for name, role in [("api", "api"), ("worker", "worker"), ("migrate", "migrate")]:
        build = SERVICES[name]["build"]
        assert build["context"] == "." and build["dockerfile"] == "Dockerfile"
        assert SERVICES[name]["command"][:2] == ["marketplace", role]
    for name in ("api", "worker"):
        assert SERVICES[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }

    # Every interpolated variable is documented, with a placeholder, in .env.example.
    example = _env_example()
    used = set(re.findall(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)", COMPOSE_LINES))
    assert used, "expected ${VAR} interpolation for secrets"
    assert used <= example.keys(), f"not in .env.example: {used - example.keys()}"
    assert all(v == "change-me" for k, v in example.items() if SECRET_NAME.search(k))
    assert "EXAMPLE" in (ROOT / ".env.example").read_text().splitlines()[0].upper()

    # No literal secret: secret-named values are required interpolations, and no URL
    # carries a literal password.
    for name, service in SERVICES.items():
        for key, value in _environment(service).items():
            if SECRET_NAME.search(key):
                assert re.fullmatch(REQUIRED_VAR, value), f"{name}.{key} = {value!r}"
            for password in re.findall(r"://[^:/@\s]+:([^@\s]+)@", value):
                assert re.fullmatch(REQUIRED_VAR, password), f"{name}.{key}"
    assert not re.search(
        r"(?i)(password|secret|api[-_]?key)\s*[:=]\s*['\"]?(?!\$)\w", COMPOSE_LINES
    )


def _required_var(value: str) -> str:
    match = re.fullmatch(r"\$\{(\w+):\?[^}]+\}", value)
    assert match, f"{value!r} is not a required ${{VAR:?message}}"
    return match.group(1)


def test_only_the_api_is_published_and_the_rest_on_loopback_or_opt_in():
    published = {}
    for name, service in SERVICES.items():
        for port in service.get("ports") or []:
            assert isinstance(port, str), f"{name}: write ports as strings"
            published.setdefault(name, []).append(port)
    assert published.pop("api") == ["8000:8000"]
    for name, ports in published.items():
        for port in ports:
            # host:published:container with host 127.0.0.1, never all interfaces
            assert port.startswith("127.0.0.1:") and port.count(":") == 2, f"{name}: {port}"
    for name in ("postgres", "temporal", "typesense"):
        assert "ports" not in SERVICES[name], name
    assert all(":9000" not in port for port in published.get("minio", []))


def test_temporal_ui_is_read_only_and_opt_in():
    ui = SERVICES["temporal-ui"]
    assert _environment(ui)["TEMPORAL_DISABLE_WRITE_ACTIONS"] == "true"
    assert ui.get("profiles"), "the UI has no sign-in: start it only on request"


def test_minio_root_credentials_are_required_and_not_the_apps():
    minio = _environment(SERVICES["minio"])
    root_user = _required_var(minio["MINIO_ROOT_USER"])
    root_password = _required_var(minio["MINIO_ROOT_PASSWORD"])
    app_keys = {
        _required_var(APP_ENV[k])
        for k in ("MARKETPLACE_S3_ACCESS_KEY", "MARKETPLACE_S3_SECRET_KEY")
    }
    assert not {root_user, root_password} & app_keys
    assert not any("MINIO_ROOT" in str(v) for v in APP_ENV.values())


def test_every_secret_the_app_would_generate_or_needs_is_required():
    secret_fields = {
        name
        for name, field in Settings.model_fields.items()
        if SecretStr in getattr(field.annotation, "__args__", (field.annotation,))
    }
    assert {"jwt_secret", "license_key_secret", "download_secret"} <= secret_fields
    for name in sorted(secret_fields - OPTIONAL_SECRETS):
        var = f"MARKETPLACE_{name.upper()}"
        assert var in APP_ENV, f"{var} is not set for api and worker"
        assert _required_var(APP_ENV[var]) == var
    assert _required_var(_environment(SERVICES["postgres"])["POSTGRES_PASSWORD"])
    assert APP_ENV["MARKETPLACE_STORAGE_BACKEND"] == "s3"


def test_local_test_card_gateway_is_off():
    for name in ("api", "worker"):
        assert _environment(SERVICES[name])["MARKETPLACE_LOCAL_GATEWAY_ENABLED"] == "false"


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="`make compose-check`")
@pytest.mark.parametrize(
    "missing",
    [
        "POSTGRES_PASSWORD",
        "MARKETPLACE_JWT_SECRET",
        "MARKETPLACE_LICENSE_KEY_SECRET",
        "MARKETPLACE_DOWNLOAD_SECRET",
        "MARKETPLACE_SIGNING_PRIVATE_KEY_PEM",
        "MARKETPLACE_LICENSE_SIGNING_PRIVATE_KEY_PEM",
        "MINIO_ROOT_USER",
        "MINIO_ROOT_PASSWORD",
        "MARKETPLACE_STRIPE_SECRET_KEY",
    ],
)
def test_compose_refuses_to_start_without_a_secret(tmp_path, missing):
    example = _env_example()
    assert missing in example
    env_file = tmp_path / "env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in example.items() if k != missing))
    clean = {k: os.environ[k] for k in ("PATH", "HOME") if k in os.environ}

    def config(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["docker-compose", "--env-file", str(path), "config", "-q"],
            cwd=ROOT,
            env=clean,
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert config(ROOT / ".env.example").returncode == 0
    refused = config(env_file)
    assert refused.returncode != 0
    assert missing in refused.stderr


def test_with_the_compose_secrets_set_the_app_generates_nothing_into_its_volume(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    from integrations import wiring

    def pem(key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey) -> str:
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    settings = Settings(
        data_dir=tmp_path,
        jwt_secret=SecretStr("j" * 32),
        license_key_secret=SecretStr("l" * 32),
        download_secret=SecretStr("d" * 32),
        signing_private_key_pem=SecretStr(pem(ec.generate_private_key(ec.SECP256R1()))),
        license_signing_private_key_pem=SecretStr(pem(ed25519.Ed25519PrivateKey.generate())),
    )
    assert wiring.jwt_secret(settings) == "j" * 32
    assert wiring.license_key_secret(settings) == "l" * 32
    assert wiring.download_secret(settings) == b"d" * 32
    wiring.keyring_from(settings)
    wiring.license_keyring_from(settings)
    assert not any(tmp_path.iterdir())


def test_the_image_builds_the_storefront_and_the_api_serves_it():
    """The Node stage builds web/dist from the locked dependencies; the final image holds
    only that output, where the API (MARKETPLACE_WEB_DIST_DIR) looks for it."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)(?: AS (\w+))?$", dockerfile, re.MULTILINE)
    assert stages[0] == ("node:20-slim", "web") and stages[-1][0].startswith("python:")
    web_stage = dockerfile.split("FROM python:")[0]
    assert "COPY web/package.json web/package-lock.json ./" in web_stage
    assert "RUN npm ci" in web_stage and "RUN npm run build" in web_stage
    final = dockerfile.split("FROM python:")[1]
    assert "COPY --from=web /web/dist ./web/dist" in final
    assert "WORKDIR /app" in final and "MARKETPLACE_WEB_DIST_DIR=/app/web/dist" in final
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert {"web/node_modules", "web/dist", "artifacts"} <= set(ignored)
    assert "MARKETPLACE_WEB_DIST_DIR" not in APP_ENV, "compose serves what the image holds"
