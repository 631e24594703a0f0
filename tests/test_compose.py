"""The production shape (docker-compose.yml, Dockerfile), checked without a Docker engine.

No container starts here. The compose file is validated against the compose-spec schema that
check-jsonschema ships, then against the code: every MICROCRED_ variable is a Settings field,
every ``microcred ...`` command parses with the real CLI parser, and the addresses, ports,
namespaces and credentials that the services use to reach each other agree.
"""

from __future__ import annotations

import argparse
import fnmatch
import graphlib
import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
import typing
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa
import yaml
from limits.aio.storage import RedisStorage
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from pydantic import SecretStr, ValidationError

import worker
from api import webapp
from api.main import API_PREFIX, RATE_LIMIT_EXEMPT, create_app
from api.ratelimit import RateLimits
from microcred.cli import _parser
from microcred.config import Environment, Settings
from microcred.mail import SmtpConfig
from microcred.storage import store_from_settings
from microcred.storage.s3 import S3Store

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
ENV_EXAMPLE = ROOT / ".env.example"
PYPROJECT = ROOT / "pyproject.toml"
DEV_LOCK = ROOT / "requirements-dev.lock"

PREFIX = str(Settings.model_config.get("env_prefix", ""))
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
# Documented defaults of the images, used when the file leaves them implicit.
TEMPORAL_FRONTEND_PORT = 7233  # FRONTEND_GRPC_PORT in the server's config template
TEMPORAL_UI_PORT = 8080  # TEMPORAL_UI_PORT of temporalio/ui
MAILPIT_SMTP_BIND = "0.0.0.0:1025"  # MP_SMTP_BIND_ADDR of axllent/mailpit
MAILPIT_UI_BIND = "0.0.0.0:8025"  # MP_UI_BIND_ADDR of axllent/mailpit
REDIS_PORT = 6379  # redis-server's port unless its command says --port
POSTGRES_DATA = "/var/lib/postgresql/data"  # VOLUME and PGDATA of the postgres image before 18

Service = dict[str, Any]

# ---- compose interpolation (the subset of the compose spec this project uses) ------------------

_REFERENCE = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<named>[A-Za-z_][A-Za-z0-9_]*))"
)


class MissingVariableError(Exception):
    """What `docker compose` refuses to start without (``${VAR:?message}``)."""


def interpolate(text: str, env: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["named"]
        op, arg = match["op"] or "", match["arg"] or ""
        value = env.get(name)
        present = value is not None and (value != "" or not op.startswith(":"))
        if op.endswith("?"):
            if not present:
                raise MissingVariableError(f"{name}: {arg}")
            return str(value)
        if op.endswith("-"):
            return str(value) if present else arg
        if op.endswith("+"):
            return arg if present else ""
        return value or ""

    return _REFERENCE.sub(replace, text)


def interpolate_tree(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [interpolate_tree(item, env) for item in node]
    if isinstance(node, dict):
        return {key: interpolate_tree(value, env) for key, value in node.items()}
    return node


def references(text: str) -> dict[str, set[str]]:
    """Every interpolated variable of ``text`` with the operators it is used with."""
    found: dict[str, set[str]] = {}
    for match in _REFERENCE.finditer(text):
        name = match["braced"] or match["named"]
        if name:
            found.setdefault(name, set()).add(match["op"] or "")
    return found


def required_variables() -> set[str]:
    return {
        name for name, ops in references(COMPOSE_FILE.read_text()).items() if any("?" in op for op in ops)
    }


def dummy_environment() -> dict[str, str]:
    """A value for every variable compose requires, distinct per variable (and long enough for
    a secret: production refuses one shorter than 32 bytes)."""
    return {name: f"dummy-{name.lower().replace('_', '-')}-0123456789abcdef" for name in required_variables()}


def load_compose(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    raw = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(raw, dict)
    if env is None:
        return raw
    tree = interpolate_tree(raw, env)
    assert isinstance(tree, dict)
    return tree


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The file as compose sees it once every required variable has a value."""
    return load_compose(dummy_environment())


# ---- reading services ----------------------------------------------------------------------


def services(compose: Mapping[str, Any]) -> dict[str, Service]:
    found = compose.get("services")
    assert isinstance(found, dict) and found, "docker-compose.yml defines no services"
    return found


def environment(service: Service) -> dict[str, str | None]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) if "=" in item else (item, None) for item in env)
        return {key: value for key, value in pairs}
    return {key: None if value is None else str(value) for key, value in env.items()}


def argv(value: Any) -> list[str]:
    if value is None:
        return []
    return shlex.split(value) if isinstance(value, str) else [str(part) for part in value]


def repository(service: Service) -> str:
    image = str(service.get("image", ""))
    return image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image


def named(compose: Mapping[str, Any], image_repository: str) -> list[str]:
    return [name for name, service in services(compose).items() if repository(service) == image_repository]


def the_one(compose: Mapping[str, Any], image_repository: str) -> str:
    found = named(compose, image_repository)
    assert len(found) == 1, f"expected one {image_repository} service, found {found}"
    return found[0]


def app_services(compose: Mapping[str, Any]) -> dict[str, Service]:
    """The services built from this repository's Dockerfile."""
    found = {}
    for name, service in services(compose).items():
        build = service.get("build")
        if build is None:
            continue
        if isinstance(build, str):
            context, dockerfile = build, "Dockerfile"
        else:
            context, dockerfile = build.get("context", "."), build.get("dockerfile", "Dockerfile")
        if (COMPOSE_FILE.parent / context / dockerfile).resolve() == DOCKERFILE:
            found[name] = service
    assert found, "no service is built from the Dockerfile"
    return found


def app_service(compose: Mapping[str, Any], command: str) -> tuple[str, Service]:
    found = [
        (name, service)
        for name, service in app_services(compose).items()
        if parse(argv(service.get("command"))[1:]).command == command
    ]
    assert len(found) == 1, (
        f"expected one service running `microcred {command}`, found {[n for n, _ in found]}"
    )
    return found[0]


def published(service: Service) -> list[tuple[str | None, int | None, int]]:
    """(host ip, host port, container port) of every published port."""
    ports = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            host = entry.get("published")
            ports.append((entry.get("host_ip"), None if host is None else int(host), int(entry["target"])))
            continue
        spec = str(entry).split("/", 1)[0]
        parts = spec.rsplit(":", 2)
        ip = parts[0] if len(parts) == 3 else None
        host_port = int(parts[-2]) if len(parts) >= 2 else None
        ports.append((ip, host_port, int(parts[-1])))
    return ports


def healthcheck_argv(service: Service) -> list[str]:
    test = (service.get("healthcheck") or {}).get("test")
    if isinstance(test, str):
        return shlex.split(test)
    parts = argv(test)
    if parts[:1] == ["CMD-SHELL"]:
        return shlex.split(" ".join(parts[1:]))
    return parts[1:] if parts[:1] == ["CMD"] else parts


def healthcheck_url(service: Service) -> str:
    urls = [str(m) for part in healthcheck_argv(service) for m in re.findall(r"https?://[^\s'\"]+", part)]
    assert len(urls) == 1, f"expected one URL in the healthcheck, found {urls}"
    return urls[0]


def depends_on(service: Service) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in deps.items()}


def ancestors(compose: Mapping[str, Any], name: str) -> dict[str, set[str]]:
    """Every service ``name`` waits for, directly or not, with the conditions on the way."""
    found: dict[str, set[str]] = {}
    todo = [name]
    while todo:
        for dep, condition in depends_on(services(compose)[todo.pop()]).items():
            if dep not in found:
                todo.append(dep)
            found.setdefault(dep, set()).add(condition)
    return found


def duration(text: str) -> timedelta:
    """A compose duration such as ``1m30s``."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", text)
    assert parts and "".join(n + u for n, u in parts) == text, f"not a compose duration: {text!r}"
    return timedelta(seconds=sum(float(n) * units[u] for n, u in parts))


def port_of(bind: str) -> int:
    return int(bind.rsplit(":", 1)[1])


def parse(args: list[str]) -> argparse.Namespace:
    """``args`` parsed by the real ``microcred`` parser; a parse error fails the test."""
    try:
        return _parser().parse_args(args)
    except SystemExit as exit_:
        pytest.fail(f"`microcred {shlex.join(args)}` does not parse with microcred.cli (exit {exit_.code})")


def settings_from(env: Mapping[str, str | None], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings as a container with exactly ``env`` builds them (unset keys stay unset)."""
    for name in list(os.environ):
        if name.upper().startswith(PREFIX):
            monkeypatch.delenv(name)
    for name, value in env.items():
        if value is not None:
            monkeypatch.setenv(name, value)
    return Settings()


def pyproject() -> dict[str, Any]:
    return tomllib.loads(PYPROJECT.read_text())


# ---- (a) the compose schema ---------------------------------------------------------------


def test_compose_file_is_valid_under_the_compose_spec_schema(tmp_path: Path) -> None:
    interpolated = tmp_path / "docker-compose.interpolated.yml"
    interpolated.write_text(yaml.safe_dump(load_compose(dummy_environment()), sort_keys=False))
    for path in (COMPOSE_FILE, interpolated):
        result = subprocess.run(
            [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(path)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, f"{path.name}:\n{result.stdout}{result.stderr}"


def test_every_interpolated_variable_is_documented_in_env_example() -> None:
    example = ENV_EXAMPLE.read_text()
    documented = dict(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=(.*)$", example, flags=re.MULTILINE))
    assert documented, ".env.example documents no variable"
    missing = sorted(set(references(COMPOSE_FILE.read_text())) - set(documented))
    assert not missing, f"docker-compose.yml reads variables .env.example does not mention: {missing}"
    for name in required_variables():  # copied unchanged, .env.example makes compose refuse to start
        assert re.search(rf"^{name}=$", example, flags=re.MULTILINE), (
            f"{name} must be an empty line in .env.example"
        )
    with pytest.raises(MissingVariableError):
        load_compose({})
    passthrough = {
        k for s in app_services(load_compose()).values() for k, v in environment(s).items() if v is None
    }
    assert not passthrough - set(documented), (
        f"undocumented pass-through settings: {passthrough - set(documented)}"
    )


# ---- (b) MICROCRED_ variables and Settings ----------------------------------------------------


def test_every_microcred_variable_is_a_setting(compose: dict[str, Any]) -> None:
    fields = {PREFIX + name.upper() for name in Settings.model_fields}
    used: dict[str, set[str]] = {}
    for path in (COMPOSE_FILE, DOCKERFILE, ENV_EXAMPLE):
        for name in re.findall(rf"\b{PREFIX}[A-Z0-9_]+", path.read_text()):
            used.setdefault(name, set()).add(path.name)
    assert used, f"no {PREFIX} variable found at all"
    unknown = {name: sorted(files) for name, files in used.items() if name not in fields}
    assert not unknown, f"not fields of microcred.config.Settings: {unknown}"
    for name, service in app_services(compose).items():
        stray = [key for key in environment(service) if not key.startswith(PREFIX)]
        assert not stray, f"{name}: Settings never reads {stray}"


# The payment provider is the operator's choice in .env (see .env.example): one of these two.
STRIPE_CHOSEN = {"MICROCRED_STRIPE_SECRET_KEY": "sk_live_dummy"}
OFFLINE_CHOSEN = {"MICROCRED_OFFLINE_PAYMENTS": "true"}


def with_payments(env: Mapping[str, str | None], chosen: Mapping[str, str]) -> dict[str, str | None]:
    """``env`` with the operator's payment choice, in pass-through variables the file names."""
    assert set(chosen) <= set(env), f"compose does not pass {set(chosen) - set(env)} through"
    return {**env, **chosen}


def test_app_environment_builds_production_settings(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, service in app_services(compose).items():
        for chosen in (STRIPE_CHOSEN, OFFLINE_CHOSEN):
            with monkeypatch.context() as patch:
                settings = settings_from(with_payments(environment(service), chosen), patch)
            assert settings.environment is Environment.PRODUCTION, name
            assert settings.database_url, f"{name} would fall back to a SQLite file"
            assert (settings.stripe_secret_key is not None) is (chosen is STRIPE_CHOSEN), name
        # Neither: the offline provider (anyone can press Pay) is never production's by omission.
        with monkeypatch.context() as patch, pytest.raises(ValidationError, match="OFFLINE_PAYMENTS=true"):
            settings_from(environment(service), patch)


def test_secrets_come_only_from_the_environment(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret_fields = [
        name
        for name, field in Settings.model_fields.items()
        if field.annotation is SecretStr or SecretStr in typing.get_args(field.annotation)
    ]
    assert secret_fields
    raw = load_compose()
    for service_name, service in app_services(raw).items():
        raw_env = environment(service)
        env = with_payments(environment(services(compose)[service_name]), OFFLINE_CHOSEN)
        for field in secret_fields:
            key = PREFIX + field.upper()
            value = raw_env.get(key)
            if value is not None:  # a literal secret in the file is never acceptable
                assert re.fullmatch(rf"\$\{{{key}(:?[-?][^}}]*)?\}}", value), (
                    f"{service_name}: {key} = {value!r}"
                )
            without = {k: v for k, v in env.items() if k != key}
            with monkeypatch.context() as patch:
                try:
                    settings_from(without, patch)
                except ValidationError:  # production refuses to run without it: compose must too
                    assert value is not None and ":?" in value, (
                        f"{service_name}: {key} must be ${{{key}:?...}}"
                    )


# ---- (c) commands --------------------------------------------------------------------------


def test_microcred_commands_parse_with_the_real_cli(compose: dict[str, Any]) -> None:
    used = set()
    for name, service in services(compose).items():
        args = argv(service.get("entrypoint")) + argv(service.get("command"))
        if "microcred" not in args[:1]:
            assert name not in app_services(compose), f"{name} is built from the Dockerfile but runs {args}"
            continue
        assert name in app_services(compose), f"{name} runs microcred without the microcred image"
        used.add(parse(args[1:]).command)
    assert {"setup", "api", "worker"} <= used, (
        f"missing commands: {sorted({'setup', 'api', 'worker'} - used)}"
    )
    assert pyproject()["project"]["scripts"]["microcred"] == "microcred.cli:main"


# ---- (d) ports and addresses ---------------------------------------------------------------------


def test_api_port_agrees_with_its_healthcheck_and_published_port(compose: dict[str, Any]) -> None:
    _, api = app_service(compose, "api")
    args = parse(argv(api["command"])[1:])
    assert args.host == "0.0.0.0", "inside a container the API must listen on every interface"
    url = urlsplit(healthcheck_url(api))
    assert url.port == args.port, f"healthcheck probes port {url.port}, the API listens on {args.port}"
    assert url.path == "/readyz", "the API healthcheck should ask for readiness (database and Temporal)"
    assert "get" in create_app().openapi()["paths"].get(url.path, {}), f"the API serves no GET {url.path}"
    ports = published(api)
    assert [target for _, _, target in ports] == [args.port], (
        f"published {ports}, the API listens on {args.port}"
    )
    public = urlsplit(str(environment(api)["MICROCRED_PUBLIC_BASE_URL"]))
    assert public.port == ports[0][1], "the default public base URL should be the published API port"


def test_temporal_addresses_name_the_frontend(compose: dict[str, Any]) -> None:
    temporal = the_one(compose, "temporalio/server")
    server = services(compose)[temporal]
    env = environment(server)
    port = int(env.get("FRONTEND_GRPC_PORT") or TEMPORAL_FRONTEND_PORT)
    expected = f"{temporal}:{port}"
    assert env.get("BIND_ON_IP") == "0.0.0.0", (
        "bound to one interface, other containers cannot reach Temporal"
    )
    assert str(port) in healthcheck_argv(server), f"the temporal healthcheck does not probe port {port}"
    assert {target for _, _, target in published(server)} <= {port}
    for name, service in app_services(compose).items():
        assert environment(service).get("MICROCRED_TEMPORAL_ADDRESS") == expected, name
    clients = [name for name, s in services(compose).items() if "TEMPORAL_ADDRESS" in environment(s)]
    assert the_one(compose, "temporalio/ui") in clients
    for name in clients:
        assert environment(services(compose)[name])["TEMPORAL_ADDRESS"] == expected, name


def test_namespace_is_created_where_the_app_and_the_ui_look(compose: dict[str, Any]) -> None:
    creators = [
        name
        for name, service in services(compose).items()
        if "operator namespace create" in " ".join(argv(service.get("command")))
    ]
    assert len(creators) == 1, f"expected one service creating the namespace, found {creators}"
    creator = services(compose)[creators[0]]
    assert repository(creator) == "temporalio/admin-tools"
    created = environment(creator)["TEMPORAL_NAMESPACE"]
    script = " ".join(argv(creator["command"]))
    for step in ("describe", "create"):
        assert f'namespace {step} -n "$TEMPORAL_NAMESPACE"' in script, (
            f"namespace {step} of another namespace"
        )
    default = Settings.model_fields["temporal_namespace"].default
    for name, service in app_services(compose).items():
        assert (environment(service).get("MICROCRED_TEMPORAL_NAMESPACE") or default) == created, name
    ui = services(compose)[the_one(compose, "temporalio/ui")]
    assert environment(ui).get("TEMPORAL_DEFAULT_NAMESPACE") == created


def test_ui_ports_agree(compose: dict[str, Any]) -> None:
    ui = services(compose)[the_one(compose, "temporalio/ui")]
    port = int(environment(ui).get("TEMPORAL_UI_PORT") or TEMPORAL_UI_PORT)
    assert [target for _, _, target in published(ui)] == [port]
    assert urlsplit(healthcheck_url(ui)).port == port


def test_the_api_counts_its_rate_limits_in_the_redis_service(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    name, api = app_service(compose, "api")
    url = urlsplit(str(environment(api).get("MICROCRED_REDIS_URL")))
    assert url.scheme == "redis" and url.hostname in services(compose), f"{name}: {url.geturl()}"
    redis = services(compose)[url.hostname]
    assert repository(redis) == "redis"
    command = argv(redis.get("command"))
    port = int(command[command.index("--port") + 1]) if "--port" in command else REDIS_PORT
    assert (url.port or REDIS_PORT) == port
    assert not published(redis), "Redis has no password: it must stay on the project's network"
    assert "ping" in healthcheck_argv(redis)
    assert depends_on(api).get(url.hostname) == "service_healthy", f"{name} starts before Redis answers"
    with monkeypatch.context() as patch:
        settings = settings_from(with_payments(environment(api), OFFLINE_CHOSEN), patch)
    limits = RateLimits.from_settings(settings, prefix=API_PREFIX, exempt=RATE_LIMIT_EXEMPT)
    assert isinstance(limits.storage, RedisStorage)  # one count for every API process


async def test_the_api_in_production_keeps_its_metrics_and_docs_to_itself(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the published port: no /metrics without MICROCRED_METRICS_TOKEN, no API docs."""
    _, api = app_service(compose, "api")
    env = with_payments(environment(api), OFFLINE_CHOSEN)
    token = "dummy-metrics-token-" + "0" * 24
    for metrics_token in (None, token):
        with monkeypatch.context() as patch:
            settings = settings_from({**env, "MICROCRED_METRICS_TOKEN": metrics_token}, patch)
        app = create_app(settings)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http:
            for path in ("/docs", "/redoc", "/openapi.json"):
                assert (await http.get(path)).status_code == 404, path
            assert (await http.get("/metrics")).status_code == (404 if metrics_token is None else 401)
            if metrics_token:
                scraped = await http.get("/metrics", headers={"Authorization": f"Bearer {metrics_token}"})
                assert scraped.status_code == 200


def test_smtp_url_points_at_the_mail_catcher(compose: dict[str, Any]) -> None:
    mailpit = the_one(compose, "axllent/mailpit")
    env = environment(services(compose)[mailpit])
    smtp_port = port_of(env.get("MP_SMTP_BIND_ADDR") or MAILPIT_SMTP_BIND)
    for name, service in app_services(compose).items():
        url = environment(service).get("MICROCRED_SMTP_URL")
        assert url, f"{name} has no MICROCRED_SMTP_URL"
        smtp = SmtpConfig.from_url(url)
        assert (smtp.hostname, smtp.port, smtp.use_tls) == (mailpit, smtp_port, False), name
    ui_port = port_of(env.get("MP_UI_BIND_ADDR") or MAILPIT_UI_BIND)
    assert [target for _, _, target in published(services(compose)[mailpit])] == [ui_port]


def test_evidence_files_live_in_the_minio_bucket(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app's S3 settings name the MinIO service, its port, its credentials and the bucket the
    one-shot service creates; setup (which sets the bucket's lifecycle rule) waits for it."""
    envs = [environment(s) for s in app_services(compose).values()]
    endpoint = urlsplit(str(envs[0]["MICROCRED_S3_ENDPOINT_URL"]))
    bucket = str(envs[0]["MICROCRED_S3_BUCKET"])
    for key in ("MICROCRED_S3_ENDPOINT_URL", "MICROCRED_S3_BUCKET", "MICROCRED_S3_ACCESS_KEY_ID"):
        assert len({str(e.get(key)) for e in envs}) == 1, f"the app services disagree on {key}"
    minio = services(compose)[str(endpoint.hostname)]
    assert repository(minio) == "minio/minio"
    command = argv(minio["command"])
    assert port_of(command[command.index("--address") + 1]) == endpoint.port
    minio_env = environment(minio)
    assert minio_env["MINIO_ROOT_USER"] == envs[0]["MICROCRED_S3_ACCESS_KEY_ID"]
    assert minio_env["MINIO_ROOT_PASSWORD"] == envs[0]["MICROCRED_S3_SECRET_ACCESS_KEY"]
    public = urlsplit(str(envs[0]["MICROCRED_S3_PUBLIC_ENDPOINT_URL"]))
    assert (public.port, endpoint.port) in {(host, target) for _, host, target in published(minio)}, (
        "browsers upload to the public endpoint: MinIO's S3 port must be published there"
    )
    assert minio_env["MINIO_API_CORS_ALLOW_ORIGIN"] == envs[0]["MICROCRED_PUBLIC_BASE_URL"]

    creator = next(n for n, s in services(compose).items() if "mc mb" in " ".join(argv(s.get("command"))))
    creator_env = environment(services(compose)[creator])
    assert repository(services(compose)[creator]) == "minio/mc"
    assert creator_env["BUCKET"] == bucket and '"store/$BUCKET"' in " ".join(
        argv(services(compose)[creator]["command"])
    )
    alias = urlsplit(str(creator_env["MC_HOST_store"]))
    assert (alias.hostname, alias.port) == (endpoint.hostname, endpoint.port)
    assert alias.username == minio_env["MINIO_ROOT_USER"]
    assert alias.password == minio_env["MINIO_ROOT_PASSWORD"]
    assert depends_on(services(compose)[creator]).get(str(endpoint.hostname)) == "service_healthy"
    setup, _ = app_service(compose, "setup")
    assert ancestors(compose, setup).get(creator) == {"service_completed_successfully"}

    _, api = app_service(compose, "api")
    with monkeypatch.context() as patch:
        settings = settings_from(with_payments(environment(api), OFFLINE_CHOSEN), patch)
    store = store_from_settings(settings)
    assert isinstance(store, S3Store) and store.bucket == bucket
    signed = store.upload_request("evidence/e/a", size=1, content_type="application/pdf", expires_in=60)
    assert urlsplit(signed.url).netloc == public.netloc, "signed for the address browsers use"


def test_database_url_points_at_the_app_database(compose: dict[str, Any]) -> None:
    urls = {str(environment(s).get("MICROCRED_DATABASE_URL")) for s in app_services(compose).values()}
    assert len(urls) == 1, f"the app services disagree on the database: {urls}"
    url = sa.engine.make_url(urls.pop())
    assert url.host in services(compose), f"{url.host} is no service"
    db = services(compose)[url.host]
    assert repository(db) == "postgres"
    env = environment(db)
    assert url.port == 5432
    assert url.username == env["POSTGRES_USER"]
    assert url.password == env["POSTGRES_PASSWORD"]
    assert url.database == (env.get("POSTGRES_DB") or env["POSTGRES_USER"])
    engine = sa.create_engine(url)  # loads the dialect and its driver; connects to nothing
    assert engine.dialect.name == "postgresql"
    engine.dispose()
    temporal = environment(services(compose)[the_one(compose, "temporalio/server")])
    assert url.host != temporal["POSTGRES_SEEDS"], "the app and Temporal should not share a database server"
    for name, service in app_services(load_compose()).items():  # the file itself holds no password
        password = sa.engine.make_url(str(environment(service)["MICROCRED_DATABASE_URL"])).password
        assert password and re.fullmatch(r"\$\{[A-Z0-9_]+:\?[^}]*\}", password), f"{name}: literal password"


def test_temporal_reaches_its_database(compose: dict[str, Any]) -> None:
    env = environment(services(compose)[the_one(compose, "temporalio/server")])
    assert env["DB"] in ("postgres12", "postgres12_pgx")
    db_name = str(env["POSTGRES_SEEDS"])
    db = services(compose)[db_name]
    assert repository(db) == "postgres"
    db_env = environment(db)
    assert int(env.get("DB_PORT") or 5432) == 5432
    assert env["POSTGRES_USER"] == db_env["POSTGRES_USER"]
    assert env["POSTGRES_PWD"] == db_env["POSTGRES_PASSWORD"]
    schema = [
        n for n, s in services(compose).items() if "temporal-sql-tool" in " ".join(argv(s.get("command")))
    ]
    assert len(schema) == 1, f"expected one schema service, found {schema}"
    schema_service = services(compose)[schema[0]]
    assert repository(schema_service) == "temporalio/admin-tools"
    schema_env = environment(schema_service)
    for key in ("DB", "POSTGRES_SEEDS", "DB_PORT", "POSTGRES_USER", "DBNAME", "VISIBILITY_DBNAME"):
        assert schema_env.get(key) == env.get(key), f"schema tool and server disagree on {key}"
    assert schema_env["SQL_PASSWORD"] == db_env["POSTGRES_PASSWORD"]
    script = " ".join(argv(schema_service["command"]))
    # temporal-sql-tool itself, or a shell function that runs it
    tools = {
        "temporal-sql-tool",
        *re.findall(r"^\s*(\w+)\(\)\s*\{\s*temporal-sql-tool\b", script, re.MULTILINE),
    }
    steps = [line.strip() for line in script.splitlines() if line.split()[:1] and line.split()[0] in tools]
    for database in ("$DBNAME", "$VISIBILITY_DBNAME"):
        for step in ("create", "setup-schema", "update-schema"):
            pattern = rf'--db "\{database}" {step}\b'
            assert any(re.search(pattern, line) for line in steps), (
                f"temporal-sql-tool never runs {step} of {database}"
            )


# ---- (e) dependencies, scaling, images, volumes, healthchecks ----------------------------------


def test_dependencies_name_services_and_use_real_conditions(compose: dict[str, Any]) -> None:
    graph = {}
    for name, service in services(compose).items():
        deps = depends_on(service)
        graph[name] = set(deps)
        for dep, condition in deps.items():
            assert dep in services(compose), f"{name} depends on unknown service {dep}"
            assert condition in CONDITIONS, f"{name} -> {dep}: unknown condition {condition}"
            target = services(compose)[dep]
            if condition == "service_healthy":
                assert healthcheck_argv(target), (
                    f"{name} waits for {dep} to be healthy; it has no healthcheck"
                )
            if condition == "service_completed_successfully":
                assert target.get("restart", "no") not in ("always", "unless-stopped"), (
                    f"{dep} never completes"
                )
    list(graphlib.TopologicalSorter(graph).static_order())  # raises CycleError on a cycle


def test_setup_completes_before_the_app_starts(compose: dict[str, Any]) -> None:
    setup, _ = app_service(compose, "setup")
    for command in ("api", "worker"):
        name, service = app_service(compose, command)
        assert depends_on(service).get(setup) == "service_completed_successfully", name
    before = ancestors(compose, setup)
    db_host = sa.engine.make_url(
        str(environment(app_services(compose)[setup])["MICROCRED_DATABASE_URL"])
    ).host
    assert "service_healthy" in before.get(str(db_host), set()), "setup must wait for a healthy app database"
    temporal = the_one(compose, "temporalio/server")
    assert "service_healthy" in before.get(temporal, set()), "setup must wait for a healthy Temporal"
    creator = next(
        n for n, s in services(compose).items() if "namespace create" in " ".join(argv(s.get("command")))
    )
    assert before.get(creator) == {"service_completed_successfully"}, (
        "setup registers search attributes in it"
    )
    schema = next(
        n for n, s in services(compose).items() if "temporal-sql-tool" in " ".join(argv(s.get("command")))
    )
    assert depends_on(services(compose)[temporal]).get(schema) == "service_completed_successfully"


def test_worker_is_scalable(compose: dict[str, Any]) -> None:
    name, service = app_service(compose, "worker")
    for fixed in ("container_name", "ports", "hostname"):
        assert fixed not in service, f"{name}: {fixed} allows one replica only"
    replicas = (service.get("deploy") or {}).get("replicas")
    assert isinstance(replicas, int) and replicas >= 2, f"{name}: deploy.replicas is {replicas!r}"
    grace = duration(str(service.get("stop_grace_period", "10s")))
    assert grace > worker.GRACEFUL_SHUTDOWN, (
        f"{name}: killed after {grace}, before in-flight activities finish"
    )


def test_images_are_pinned(compose: dict[str, Any]) -> None:
    for name, service in services(compose).items():
        image = str(service.get("image", ""))
        assert image, f"{name} names no image"
        tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
        # A version (1.31.0), or MinIO's release stamp (RELEASE.2025-04-22T22-12-26Z).
        pinned = re.search(r"\d+\.\d+", tag) or re.fullmatch(r"RELEASE\.\d{4}-\d\d-\d\dT[\d-]+Z", tag)
        assert pinned, f"{name}: {image} is not pinned to a version"
    tools = {
        str(services(compose)[n]["image"]).rsplit(":", 1)[1] for n in named(compose, "temporalio/admin-tools")
    }
    server = str(services(compose)[the_one(compose, "temporalio/server")]["image"]).rsplit(":", 1)[1]
    assert tools == {server}, f"admin-tools {tools} must set up the schema of server {server}"
    versions = {str(s["image"]) for s in app_services(compose).values()}
    assert versions == {f"microcred:{pyproject()['project']['version']}"}, versions


def test_state_lives_in_named_volumes(compose: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    used = set()
    for name, service in services(compose).items():
        mounts = {}
        for volume in service.get("volumes") or []:
            source, target = (
                (volume["source"], volume["target"]) if isinstance(volume, dict) else volume.split(":")[:2]
            )
            assert source in declared, f"{name}: {source} is not a named volume of this file"
            mounts[target] = source
            used.add(source)
        if repository(service) == "postgres":
            # The image declares VOLUME there: a named volume anywhere else is shadowed by an anonymous one.
            assert POSTGRES_DATA in mounts, f"{name}: no named volume at {POSTGRES_DATA}"
            data = environment(service).get("PGDATA") or POSTGRES_DATA
            assert data == POSTGRES_DATA or data.startswith(POSTGRES_DATA + "/"), f"{name}: PGDATA {data}"
        if repository(service) == "axllent/mailpit":
            data = str(environment(service).get("MP_DATABASE"))
            assert any(data.startswith(t + "/") for t in mounts), f"{name}: {data} is not on a volume"
    assert used == declared, f"declared but unused volumes: {declared - used}"


def test_published_services_have_healthchecks(compose: dict[str, Any]) -> None:
    for name, service in services(compose).items():
        if published(service):
            assert healthcheck_argv(service), f"{name} is published but has no healthcheck"


# ---- (f) the Dockerfile ----------------------------------------------------------------------


def dockerfile() -> list[tuple[int, str, str]]:
    """(stage index, instruction, arguments) of every instruction."""
    text = re.sub(
        r"\\\n",
        " ",
        "\n".join(line for line in DOCKERFILE.read_text().splitlines() if not line.strip().startswith("#")),
    )
    instructions = []
    stage = -1
    for line in text.splitlines():
        if not line.strip():
            continue
        keyword, _, args = line.strip().partition(" ")
        if keyword.upper() == "FROM":
            stage += 1
        instructions.append((stage, keyword.upper(), args.strip()))
    return instructions


def pip_installs() -> Iterator[tuple[int, list[str]]]:
    """(instruction index, arguments after `pip install`) of every pip install in a RUN."""
    for index, (_, keyword, args) in enumerate(dockerfile()):
        if keyword != "RUN":
            continue
        for command in re.split(r"&&|\|\||;", args):
            words = shlex.split(command)
            for i in range(len(words) - 1):
                if words[i].endswith("pip") and words[i + 1] == "install":
                    yield index, words[i + 2 :]


def test_dockerfile_installs_from_the_lock_with_hashes() -> None:
    installs = list(pip_installs())
    from_lock = [(i, words) for i, words in installs if "requirements.lock" in words]
    assert len(from_lock) == 1, "the Dockerfile must install requirements.lock exactly once"
    index, words = from_lock[0]
    assert words[words.index("requirements.lock") - 1] in ("-r", "--requirement")
    assert {"--require-hashes", "--no-deps"} <= set(words), words
    copies = [
        i
        for i, (_, kw, args) in enumerate(dockerfile())
        if kw == "COPY" and "requirements.lock" in args.split()
    ]
    assert copies and copies[0] < index, "requirements.lock is installed before it is copied in"
    for _, words in installs:  # nothing is resolved from the index without a hash
        editable = words[-2:] == ["-e", "."] and {"--no-deps", "--no-build-isolation"} <= set(words)
        assert "--require-hashes" in words or editable, f"unpinned install: pip install {shlex.join(words)}"
    assert any("-e" in words for _, words in installs), "the project must stay an editable install"


def lock_entries(text: str) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of a hash-pinned requirements file."""
    entries: dict[str, tuple[str, list[str]]] = {}
    name = ""
    for line in text.splitlines():
        pinned = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", line)
        if pinned:
            name = canonicalize_name(pinned[1])
            entries[name] = (pinned[2], [])
        elif name and line[:1] in (" ", "\t"):
            entries[name][1].extend(re.findall(r"--hash=(\S+)", line))
    return entries


def test_build_backend_comes_hash_pinned_from_the_dev_lock() -> None:
    """Run the Dockerfile's own extraction: it must select exactly the pinned build backend."""
    runs = [args for _, keyword, args in dockerfile() if keyword == "RUN" and DEV_LOCK.name in args]
    assert len(runs) == 1, f"expected one RUN reading {DEV_LOCK.name}"
    command, _, target = runs[0].split("&&")[0].partition(">")
    words = shlex.split(command)
    assert words[0] == "awk" and words[-1] == DEV_LOCK.name, words
    selected = lock_entries(
        subprocess.run(words, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    )
    requires = {
        str(canonicalize_name(r.name)): r for r in map(Requirement, pyproject()["build-system"]["requires"])
    }
    assert set(selected) == set(requires), f"selected {sorted(selected)}, the build needs {sorted(requires)}"
    for name, (version, hashes) in selected.items():
        assert version in requires[name].specifier, f"locked {name}=={version} breaks {requires[name]}"
        assert hashes, f"{name} has no hash in {DEV_LOCK.name}"
    installs = [words for _, words in pip_installs() if target.strip() in words]
    assert installs and all("--require-hashes" in words for words in installs), (
        "the build backend is not installed"
    )


def test_dockerfile_runs_a_real_command_as_non_root() -> None:
    instructions = dockerfile()
    final = max(stage for stage, _, _ in instructions)
    last = {kw: args for stage, kw, args in instructions if stage == final}
    assert "ENTRYPOINT" not in last, "CMD alone names the command; compose overrides it per service"
    cmd = json.loads(last["CMD"])
    assert pyproject()["project"]["scripts"].get(cmd[0]) == "microcred.cli:main", cmd
    args = parse(cmd[1:])
    assert str(args.port) in last.get("EXPOSE", "").split(), "EXPOSE and the API port disagree"
    user = last.get("USER", "root").split(":")[0]
    assert user not in ("root", "0"), "the image must run as a non-root user"
    image_arg = re.search(r"^ARG PYTHON_IMAGE=python:(\d+\.\d+)", DOCKERFILE.read_text(), re.MULTILINE)
    assert image_arg, "the base image is not an official python image"
    assert image_arg[1] in SpecifierSet(pyproject()["project"]["requires-python"]), image_arg[1]


def test_the_image_serves_the_web_app_built_from_the_lock() -> None:
    """A Node.js stage builds frontend/ with `npm ci` (package-lock.json, nothing resolved) and
    the runtime image holds its output where the API serves it from."""
    instructions = dockerfile()
    web = {i[0] for i in instructions if i[1] == "FROM" and i[2].endswith(" AS web")}
    assert len(web) == 1, "no web stage"
    (stage,) = web
    runs = [args for s, kw, args in instructions if s == stage and kw == "RUN"]
    assert any(shlex.split(r)[:2] == ["npm", "ci"] for r in runs), runs
    assert "npm run build" in runs
    copies = [args.split() for s, kw, args in instructions if kw == "COPY"]
    served = ROOT / "frontend" / "dist"
    assert served == webapp.DEFAULT_WEB_DIR
    assert ["--from=web", "/web/dist", f"/app/{served.relative_to(ROOT)}"] in copies


def test_dockerignore_keeps_secrets_out_and_the_source_in() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(path: str) -> bool:
        return any(fnmatch.fnmatch(path, p) or fnmatch.fnmatch(path, p.removeprefix("**/")) for p in patterns)

    for secret in (".env", ".venv", ".git", ".microcred", "frontend/node_modules", "frontend/dist"):
        assert ignored(secret), f"{secret} would enter the build context"
    tool = pyproject()["tool"]["setuptools"]
    packages = [p.rstrip("*") for p in tool["packages"]["find"]["include"]]
    needed = ["pyproject.toml", "README.md", "alembic.ini", "migrations", "requirements.lock", DEV_LOCK.name]
    for path in needed + [f"{m}.py" for m in tool["py-modules"]] + packages:
        assert not ignored(path), f"{path} is needed by the build but ignored"
