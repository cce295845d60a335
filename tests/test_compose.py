"""docker-compose.yml, read as a user would run it: no Docker engine, no network.

`docker-compose --env-file .env.example config -q` (Debian's docker-compose 1.29)
checks the schema; this checks what the schema cannot: services, secrets, .env.example.
"""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
COMPOSE_LINES = "\n".join(
    line for line in COMPOSE_TEXT.splitlines() if not line.lstrip().startswith("#")
)
SERVICES = COMPOSE["services"]
EXPECTED = {"postgres", "temporal", "temporal-ui", "minio", "typesense", "api", "worker", "migrate"}
REQUIRED_VAR = r"\$\{\w+:\?[^}]+\}"  # ${VAR:?message}: compose refuses to start without it
SECRET_NAME = re.compile(r"PASSWORD|PWD|SECRET|API_KEY|ACCESS_KEY|TOKEN", re.IGNORECASE)


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
