"""The deployment files in deploy/ are well-formed and say what production needs.

No Docker engine and no cluster: the Kubernetes manifests are validated offline against the
OpenAPI schemas shipped in `kubernetes-validate` (strict: an unknown field is an error), and
compose.yaml against the Compose Specification schema shipped in `check-jsonschema`. The
rest are plain assertions on the parsed files, and the image's and compose's health-check
commands are run against a local HTTP server.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shlex
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import jsonschema  # type: ignore[import-untyped]
import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml
from pydantic import ValidationError

from libs.common.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
COMPOSE = DEPLOY / "compose.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"
KUSTOMIZATION = K8S / "kustomization.yaml"
SECRET_EXAMPLE = K8S / "secret.example.yaml"

KUBERNETES_VERSION = "1.30"
SERVICES = ("intake", "grading", "notifier", "cases", "monitoring", "insight", "console")
IMAGE = "laborwatch:1.0.0"
NAMESPACE = "laborwatch"
APP_PORT = 8000
A_SECRET_KEY = "k" * 44  # as long as `openssl rand -base64 32`

Doc = dict[str, Any]


# ------------------------------------------------------------------------------- helpers


def load_all(path: Path) -> list[Doc]:
    """Every non-empty YAML document of a file."""
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def yaml_files() -> list[Path]:
    return sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml")])


def manifest_files() -> list[Path]:
    """Every Kubernetes manifest file in deploy/k8s (the kustomization is not one)."""
    return sorted(p for p in K8S.glob("*.y*ml") if p.name != KUSTOMIZATION.name)


def manifests() -> list[tuple[str, Doc]]:
    return [(path.name, doc) for path in manifest_files() for doc in load_all(path)]


def manifest_ids() -> list[str]:
    return [
        f"{name}:{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        for name, doc in manifests()
    ]


def the(kind: str, name: str) -> Doc:
    found = [
        doc for _, doc in manifests() if doc["kind"] == kind and doc["metadata"]["name"] == name
    ]
    assert len(found) == 1, f"expected one {kind} {name} in deploy/k8s, found {len(found)}"
    return found[0]


def named_port(container: Doc, port: int | str) -> int:
    """Resolve a probe's or a Service's port (a number or a container port's name)."""
    if isinstance(port, int):
        return port
    matches = [p["containerPort"] for p in container.get("ports", []) if p.get("name") == port]
    assert matches, f"no container port named {port!r}"
    return int(matches[0])


def compose() -> Doc:
    doc = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def compose_environment(service: Doc) -> dict[str, str]:
    """A compose service's environment, whether written as a mapping or a list."""
    env = service.get("environment", {})
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?error}`, enough for these files."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3) or ""
        if env.get(name):
            return env[name]
        if op == ":?":
            raise LookupError(f"{name}: {arg}")
        return arg if op == ":-" else ""

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:[-?])([^}]*))?\}", one, value)


def command_of(service: Doc) -> list[str]:
    command = service.get("command", [])
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def dockerfile_instructions() -> list[tuple[str, str]]:
    """The Dockerfile as (INSTRUCTION, arguments), continuation lines joined, comments gone."""
    logical: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "the Dockerfile ends in a line continuation"
    return [
        (parts[0].upper(), parts[1].strip() if len(parts) > 1 else "")
        for parts in (line.split(None, 1) for line in logical)
    ]


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(i for i, (op, _) in enumerate(instructions) if op == "FROM")
    return instructions[last_from:]


def env_settings(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> Settings:
    """Settings built from exactly these variables, as a process would see them."""
    for name in list(os.environ):
        if name.startswith("LABORWATCH_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings()


def known_setting_names() -> set[str]:
    return {f"LABORWATCH_{name.upper()}" for name in Settings.model_fields}


class _Health(BaseHTTPRequestHandler):
    statuses: ClassVar[dict[str, int]] = {}

    def do_GET(self) -> None:
        status = self.statuses.get(self.path, 404)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[tuple[int, dict[str, int]]]:
    """A local HTTP server answering each path with the status the test sets."""
    statuses: dict[str, int] = {}
    handler = type("Handler", (_Health,), {"statuses": statuses})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1], statuses
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def python_check_exit_code(argv: list[str], port: int) -> int:
    """Run a health-check command whose program is `python`, with the app's port at `port`."""
    assert argv[0] == "python", f"the check must run python (no curl in slim): {argv}"
    code = argv[argv.index("-c") + 1].replace(f":{APP_PORT}/", f":{port}/")
    env = {**os.environ, "LABORWATCH_PORT": str(port)}
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, timeout=20
    ).returncode


# --------------------------------------------------------------------------- every file


def test_the_deployment_files_exist() -> None:
    expected = {
        DOCKERFILE,
        COMPOSE,
        DEPLOY / "README.md",
        KUSTOMIZATION,
        SECRET_EXAMPLE,
        *(K8S / f"{name}.yaml" for name in ("namespace", "configmap", "migrate-job", *SERVICES)),
    }
    missing = sorted(str(p.relative_to(ROOT)) for p in expected if not p.is_file())
    assert not missing


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_yaml_file_parses_into_mappings(path: Path) -> None:
    docs = load_all(path)
    assert docs, f"{path} has no YAML document"
    assert all(isinstance(doc, dict) for doc in docs)


# ----------------------------------------------------------------------------- Kubernetes


@pytest.mark.parametrize(("filename", "doc"), manifests(), ids=manifest_ids())
def test_every_manifest_is_valid_kubernetes_in_strict_mode(filename: str, doc: Doc) -> None:
    # Raises ValidationError (a wrong or unknown field) or SchemaNotFoundError (an unknown
    # kind or apiVersion); the schemas are in the package, nothing is fetched.
    assert kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True) == KUBERNETES_VERSION


def test_strict_validation_does_reject_an_unknown_field() -> None:
    deployment = copy.deepcopy(the("Deployment", "laborwatch-intake"))
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_every_namespaced_manifest_is_in_the_laborwatch_namespace() -> None:
    for filename, doc in manifests():
        if doc["kind"] == "Namespace":
            assert doc["metadata"]["name"] == NAMESPACE
        else:
            assert doc["metadata"].get("namespace") == NAMESPACE, f"{filename}: {doc['kind']}"


def test_the_kustomization_lists_every_manifest_but_the_secret_example() -> None:
    kustomization = yaml.safe_load(KUSTOMIZATION.read_text(encoding="utf-8"))
    assert kustomization["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
    assert kustomization["kind"] == "Kustomization"
    assert kustomization.get("namespace") == NAMESPACE
    resources_ = kustomization["resources"]
    assert len(resources_) == len(set(resources_)), "a resource is listed twice"
    # The example Secret holds placeholders: `kubectl apply -k` must never overwrite the
    # real one with it.
    expected = {p.name for p in manifest_files()} - {SECRET_EXAMPLE.name}
    assert set(resources_) == expected


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_has_a_production_ready_deployment(service: str) -> None:
    deployment = the("Deployment", f"laborwatch-{service}")
    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    assert spec["replicas"] >= 2
    assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()
    assert pod["terminationGracePeriodSeconds"] == 30
    assert pod["enableServiceLinks"] is False  # else LABORWATCH_*_PORT=tcp://... appear
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"].get("runAsUser", 1) != 0

    (container,) = pod["containers"]
    assert container["image"] == IMAGE
    assert container["args"] == ["serve", service]
    assert named_port(container, "http") == APP_PORT

    liveness, readiness = container["livenessProbe"], container["readinessProbe"]
    assert liveness["httpGet"]["path"] == "/healthz"
    assert readiness["httpGet"]["path"] == "/readyz"
    assert named_port(container, liveness["httpGet"]["port"]) == APP_PORT
    assert named_port(container, readiness["httpGet"]["port"]) == APP_PORT

    resources_ = container["resources"]
    assert {"cpu", "memory"} <= resources_["requests"].keys()
    assert "memory" in resources_["limits"]

    security = container["securityContext"]
    assert security.get("runAsNonRoot", True) is True
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert_tmp_is_an_empty_dir(pod, container)
    assert_env_from_config_and_secret(container)


def assert_tmp_is_an_empty_dir(pod: Doc, container: Doc) -> None:
    mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    assert "/tmp" in mounts, "a read-only root filesystem needs a writable /tmp"
    assert "emptyDir" in volumes[mounts["/tmp"]]


def assert_env_from_config_and_secret(container: Doc) -> None:
    config = the("ConfigMap", "laborwatch-config")["metadata"]["name"]
    secret = load_all(SECRET_EXAMPLE)[0]["metadata"]["name"]
    sources = container["envFrom"]
    assert {"configMapRef": {"name": config}} in sources
    assert {"secretRef": {"name": secret}} in sources


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_has_a_cluster_ip_service_on_port_80(service: str) -> None:
    svc = the("Service", f"laborwatch-{service}")
    deployment = the("Deployment", f"laborwatch-{service}")
    template = deployment["spec"]["template"]
    assert svc["spec"].get("type", "ClusterIP") == "ClusterIP"
    assert svc["spec"]["selector"].items() <= template["metadata"]["labels"].items()
    (port,) = svc["spec"]["ports"]
    assert port["port"] == 80
    assert named_port(template["spec"]["containers"][0], port["targetPort"]) == APP_PORT


def test_the_migration_job_runs_migrate_once_and_cleans_up() -> None:
    job = the("Job", "laborwatch-migrate")
    pod = job["spec"]["template"]["spec"]
    assert job["spec"]["backoffLimit"] >= 1
    assert job["spec"]["ttlSecondsAfterFinished"] > 0
    assert pod["restartPolicy"] in {"Never", "OnFailure"}
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    assert container["image"] == IMAGE
    assert container["args"] == ["migrate"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert_tmp_is_an_empty_dir(pod, container)
    assert_env_from_config_and_secret(container)


def test_the_config_map_and_the_secret_are_laborwatch_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = the("ConfigMap", "laborwatch-config")["data"]
    secret = load_all(SECRET_EXAMPLE)[0]
    assert secret["kind"] == "Secret"
    assert "data" not in secret, "the example is written as stringData"
    placeholders = secret["stringData"]
    unknown = (config.keys() | placeholders.keys()) - known_setting_names()
    assert not unknown, f"not laborwatch settings (typo?): {sorted(unknown)}"
    assert not config.keys() & placeholders.keys()
    assert "LABORWATCH_DATABASE_URL" not in config, "the database URL holds a password"
    assert "LABORWATCH_SECRET_KEY" not in config

    # Unedited, the example must stop the process rather than run with a known key...
    with pytest.raises(ValidationError, match="secret_key"):
        env_settings(monkeypatch, {**config, **placeholders})
    # ...and with a real key, everything else in it is accepted as it is.
    settings = env_settings(
        monkeypatch, {**config, **placeholders, "LABORWATCH_SECRET_KEY": A_SECRET_KEY}
    )
    assert settings.database_url.startswith("postgresql+asyncpg://")
    assert settings.kafka_bootstrap_servers
    assert (settings.host, settings.port) == ("0.0.0.0", APP_PORT)


# -------------------------------------------------------------------------------- compose


def compose_validator() -> Any:
    # The official Compose Specification schema, vendored in check-jsonschema (offline).
    schema_file = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def test_the_compose_file_follows_the_compose_specification() -> None:
    compose_validator().validate(compose())


def test_the_compose_schema_does_reject_an_unknown_key() -> None:
    doc = compose()
    doc["services"]["intake"]["stop_grace_periods"] = "30s"
    with pytest.raises(jsonschema.ValidationError):
        compose_validator().validate(doc)


@pytest.mark.parametrize(
    ("service", "host_port"), [(name, 8001 + i) for i, name in enumerate(SERVICES)]
)
def test_each_compose_service_serves_itself_after_the_migration(
    service: str, host_port: int
) -> None:
    spec = compose()["services"][service]
    assert spec["image"] == IMAGE
    assert command_of(spec) == ["serve", service]
    assert spec["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert spec["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert spec["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert f"{host_port}:{APP_PORT}" in [str(p) for p in spec["ports"]]
    assert "/readyz" in " ".join(spec["healthcheck"]["test"])
    assert spec["stop_grace_period"] == "30s"

    env = compose_environment(spec)
    assert env["LABORWATCH_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert "@postgres/" in env["LABORWATCH_DATABASE_URL"]
    assert env["LABORWATCH_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert re.fullmatch(r"\$\{LABORWATCH_SECRET_KEY:\?[^}]+\}", env["LABORWATCH_SECRET_KEY"])
    assert re.fullmatch(
        r"\$\{LABORWATCH_HOTLINE_WEBHOOK_SECRET:-\}", env["LABORWATCH_HOTLINE_WEBHOOK_SECRET"]
    )


def test_the_compose_migration_runs_once_against_a_healthy_postgres() -> None:
    services = compose()["services"]
    migrate = services["migrate"]
    assert migrate["image"] == IMAGE
    assert command_of(migrate) == ["migrate"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert str(migrate.get("restart", "no")) == "no"
    # The migration connects with the same settings as the services.
    assert compose_environment(migrate) == compose_environment(services["intake"])


def test_the_compose_backing_services_are_postgres_16_and_kafka_in_kraft_mode() -> None:
    doc = compose()
    postgres, kafka = doc["services"]["postgres"], doc["services"]["kafka"]
    assert re.fullmatch(r"postgres:16(\.[0-9.]+)?(-[a-z0-9]+)?", postgres["image"])
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    pg_env = compose_environment(postgres)
    url = compose_environment(doc["services"]["intake"])["LABORWATCH_DATABASE_URL"]
    assert url == (
        f"postgresql+asyncpg://{pg_env['POSTGRES_USER']}:{pg_env['POSTGRES_PASSWORD']}"
        f"@postgres/{pg_env['POSTGRES_DB']}"
    )
    assert any(str(v).endswith(":/var/lib/postgresql/data") for v in postgres["volumes"])

    assert kafka["image"] == "apache/kafka:3.8.0"
    kafka_env = compose_environment(kafka)
    assert set(kafka_env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert "PLAINTEXT://kafka:9092" in kafka_env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    assert kafka["healthcheck"]["test"]
    mounted = {str(v).split(":")[0] for s in doc["services"].values() for v in s.get("volumes", [])}
    assert set(doc["volumes"]) == mounted


def test_the_compose_environment_is_valid_laborwatch_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    raw = compose_environment(compose()["services"]["intake"])
    assert not raw.keys() - known_setting_names(), "not laborwatch settings (typo?)"
    with pytest.raises(LookupError, match="LABORWATCH_SECRET_KEY"):
        _ = {name: interpolate(value, {}) for name, value in raw.items()}

    env = {
        name: interpolate(value, {"LABORWATCH_SECRET_KEY": A_SECRET_KEY})
        for name, value in raw.items()
    }
    settings = env_settings(monkeypatch, {**env, "LABORWATCH_HOST": "0.0.0.0"})
    assert settings.secret_key == A_SECRET_KEY
    assert settings.hotline_webhook_secret is None
    assert settings.kafka_bootstrap_servers == "kafka:9092"


def test_the_compose_readiness_check_fails_unless_readyz_answers_200(
    health_server: tuple[int, dict[str, int]],
) -> None:
    port, statuses = health_server
    test = compose()["services"]["intake"]["healthcheck"]["test"]
    assert test[0] == "CMD"
    statuses["/readyz"] = 200
    assert python_check_exit_code(test[1:], port) == 0
    statuses["/readyz"] = 503
    assert python_check_exit_code(test[1:], port) != 0


# ----------------------------------------------------------------------------- Dockerfile


def test_the_image_is_python_3_11_slim_for_every_stage() -> None:
    """Every Python stage; the console's browser files come from a node stage of their own."""
    instructions = dockerfile_instructions()
    args = dict(arg.split("=", 1) for op, arg in instructions if op == "ARG" and "=" in arg)
    froms = [value for op, value in instructions if op == "FROM"]
    bases = [next(word for word in value.split() if not word.startswith("--")) for value in froms]
    resolved = [re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], base) for base in bases]
    assert resolved, "no FROM"
    python = [
        b for b, value in zip(resolved, froms, strict=True) if not value.endswith(" AS assets")
    ]
    assert python and all(base == "python:3.11-slim" for base in python), resolved
    assets = [b for b, value in zip(resolved, froms, strict=True) if value.endswith(" AS assets")]
    assert assets == ["node:20-slim"], resolved


def test_the_image_runs_laborwatch_as_a_non_root_user() -> None:
    stage = final_stage()
    users = [value for op, value in stage if op == "USER"]
    assert users, "the final stage sets no USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    assert [json.loads(value) for op, value in stage if op == "ENTRYPOINT"][-1] == ["laborwatch"]
    assert [json.loads(value) for op, value in stage if op == "CMD"][-1] == ["run"]
    assert str(APP_PORT) in " ".join(value for op, value in stage if op == "EXPOSE").split()
    env: dict[str, str] = {}
    for op, value in stage:
        if op == "ENV":
            env.update(item.partition("=")[::2] for item in shlex.split(value))
    assert env.get("LABORWATCH_HOST") == "0.0.0.0"


def test_the_image_installs_the_project_and_everything_it_packages() -> None:
    instructions = dockerfile_instructions()
    assert any(
        op == "RUN" and re.search(r"pip install \.(\s|$)", value) for op, value in instructions
    )
    copied: set[str] = set()
    for op, value in instructions:
        if op == "COPY" and "--from" not in value:
            *sources, _ = shlex.split(value)
            copied.update(s.rstrip("/") for s in sources if not s.startswith("--"))
    missing = sorted(s for s in copied if not (ROOT / s).exists())
    assert not missing, f"COPY of paths not in the repository: {missing}"
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    needed = {"pyproject.toml", pyproject["project"]["readme"]}
    needed |= {
        p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    assert needed <= copied, f"`pip install .` needs these in the image: {sorted(needed - copied)}"


def test_the_image_health_check_asks_healthz_with_python(
    health_server: tuple[int, dict[str, int]],
) -> None:
    (check,) = [value for op, value in final_stage() if op == "HEALTHCHECK"]
    command = json.loads(check[check.index("CMD") + len("CMD") :].strip())
    assert "curl" not in command and "wget" not in command
    assert "/healthz" in " ".join(command)
    port, statuses = health_server
    statuses["/healthz"] = 200
    assert python_check_exit_code(command, port) == 0
    statuses["/healthz"] = 500
    assert python_check_exit_code(command, port) != 0
