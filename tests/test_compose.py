"""The production deployment files are valid and agree with the code.

No Docker engine is needed: docker-compose.yml is validated against the Compose Specification's
JSON schema (the copy vendored by the check-jsonschema package) and checked against the typer app
(``buzz`` subcommands), the Settings model (``BUZZ_*`` names, ports), the Dockerfile and the
ClickHouse users file. ClickHouse setting names are checked against chDB's own system tables.
"""

from __future__ import annotations

import base64
import copy
import importlib.util
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import typer.main
import yaml

from pipeline.cli import app
from pipeline.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
USERS_XML = ROOT / "deploy" / "clickhouse" / "users.d" / "buzz-users.xml"
CONFIG_XML = ROOT / "deploy" / "clickhouse" / "config.d" / "buzz.xml"

CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
DURATION = re.compile(r"^(\d+(\.\d+)?(us|ms|s|m|h))+$")
# What clickhouse-connect 1.12 sends with every query (DESIGN.md); readonly=1 rejects them.
CLIENT_QUERY_SETTINGS = (
    "send_progress_in_http_headers",
    "cancel_http_readonly_queries_on_client_close",
)


# --- compose interpolation (the subset of the spec the file may use) -----------------------------

_VAR = re.compile(r"\$(?:(\$)|\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_BRACED = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?$", re.S)


class MissingVariable(LookupError):
    pass


def _interpolate_str(text: str, env: Mapping[str, str]) -> str:
    def repl(m: re.Match[str]) -> str:
        if m.group(1):
            return "$"
        expr = m.group(2) if m.group(2) is not None else m.group(3)
        parsed = _BRACED.match(expr)
        assert parsed, f"unsupported interpolation ${{{expr}}}"
        name, op, arg = parsed.group(1), parsed.group(2), parsed.group(3) or ""
        value = env.get(name)
        unset_or_empty = value is None or (value == "" and op is not None and op.startswith(":"))
        if op in (":-", "-"):
            return arg if (value is None if op == "-" else unset_or_empty) else str(value)
        if op in (":?", "?"):
            if value is None if op == "?" else unset_or_empty:
                raise MissingVariable(f"{name}: {arg}")
            return str(value)
        if op in (":+", "+"):
            return "" if (value is None if op == "+" else unset_or_empty) else arg
        return value or ""

    return _VAR.sub(repl, text)


def interpolate(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return _interpolate_str(node, env)
    if isinstance(node, list):
        return [interpolate(v, env) for v in node]
    if isinstance(node, dict):
        return {k: interpolate(v, env) for k, v in node.items()}
    return node


def variables_read(node: Any) -> Iterator[tuple[str, str | None]]:
    """(name, operator) of every ${...} in the file."""
    if isinstance(node, str):
        for m in _VAR.finditer(node):
            if m.group(1):
                continue
            parsed = _BRACED.match(m.group(2) if m.group(2) is not None else m.group(3))
            assert parsed, m.group(0)
            yield parsed.group(1), parsed.group(2)
    elif isinstance(node, list):
        for v in node:
            yield from variables_read(v)
    elif isinstance(node, dict):
        for v in node.values():
            yield from variables_read(v)


def read_env_file(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text("utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not KEY=value: {line!r}"
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        env[key.strip()] = value
    return env


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text("utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def example_env() -> dict[str, str]:
    env = read_env_file(ENV_EXAMPLE)
    # The example leaves secrets empty on purpose; a real .env fills them in.
    env.update(
        CLICKHOUSE_PASSWORD="s3cretWriter",
        CLICKHOUSE_ANALYST_PASSWORD="s3cretAnalyst",
        BUZZ_PII_KEY="k" * 32,
    )
    return env


@pytest.fixture(scope="module")
def compose(raw: dict[str, Any], example_env: dict[str, str]) -> dict[str, Any]:
    """The file as compose sees it with a filled-in .env."""
    return interpolate(raw, example_env)


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def app_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    image = compose["x-buzz-app"]["image"]
    found = {n: s for n, s in compose["services"].items() if s.get("image") == image}
    assert found, "no service runs the buzz image"
    return found


@pytest.fixture(scope="module")
def compose_schema() -> dict[str, Any]:
    spec = importlib.util.find_spec("check_jsonschema")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("check-jsonschema (ships the Compose Specification schema) is not installed")
    path = Path(next(iter(spec.submodule_search_locations)))
    schema_file = path / "builtin_schemas" / "vendor" / "compose-spec.json"
    assert schema_file.is_file(), f"check-jsonschema no longer ships {schema_file.name}"
    return json.loads(schema_file.read_text("utf-8"))


def settings_default(name: str) -> Any:
    return Settings.model_fields[name].default


def port_of(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None, url
    return port


def healthcheck_url(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    joined = " ".join(test) if isinstance(test, list) else test
    m = re.search(r"https?://[^\s'\"]+", joined)
    assert m, f"healthcheck does not request a URL: {test}"
    return m.group(0)


def container_ports(service: dict[str, Any]) -> list[int]:
    out = []
    for spec in service.get("ports", []):
        spec = spec if isinstance(spec, str) else str(spec["target"])
        out.append(int(spec.rsplit(":", 1)[-1].split("/")[0]))
    return out


# --- the file is a valid compose file ------------------------------------------------------------


def test_aliases_refer_to_defined_anchors() -> None:
    anchors: set[str] = set()
    aliases = []
    for event in yaml.parse(COMPOSE.read_text("utf-8")):
        anchor = getattr(event, "anchor", None)
        if isinstance(event, yaml.AliasEvent):
            aliases.append(anchor)
            assert anchor in anchors, f"alias *{anchor} used before or without &{anchor}"
        elif anchor:
            anchors.add(anchor)
    assert "buzz-env" in anchors and "buzz-env" in aliases


def test_valid_against_compose_specification(
    raw: dict[str, Any], compose: dict[str, Any], compose_schema: dict[str, Any]
) -> None:
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(compose_schema)
    for label, doc in (("as written", raw), ("interpolated", compose)):
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
        assert not errors, f"{label}: " + "; ".join(
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]
        )


def test_schema_check_rejects_broken_files(
    compose: dict[str, Any], compose_schema: dict[str, Any]
) -> None:
    """Control: the schema really constrains what the previous test accepts."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(compose_schema)
    broken: list[dict[str, Any]] = []
    doc = copy.deepcopy(compose)
    doc["services"]["worker"]["healthcheck"]["intervall"] = "5s"
    broken.append(doc)
    doc = copy.deepcopy(compose)
    doc["services"]["worker"]["depends_on"]["kafka"]["condition"] = "service_ready"
    broken.append(doc)
    doc = copy.deepcopy(compose)
    doc["services"]["dashboard"]["command"] = {"dashboard": True}
    broken.append(doc)
    for doc in broken:
        assert not validator.is_valid(doc)


def test_every_service_has_image_and_pinned_third_party_images(
    services: dict[str, dict[str, Any]], app_services: dict[str, dict[str, Any]]
) -> None:
    for name, svc in services.items():
        assert svc.get("image") or svc.get("build"), name
    for name in set(services) - set(app_services):
        repo, _, tag = services[name]["image"].rpartition(":")
        assert repo and re.fullmatch(r"\d+(\.\d+)+", tag), f"{name}: pin a version tag, not {tag!r}"
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["clickhouse"]["image"].startswith("clickhouse/clickhouse-server:")
    for name, svc in app_services.items():
        assert svc["build"]["context"] == ".", name


def test_healthchecks_are_well_formed(services: dict[str, dict[str, Any]]) -> None:
    must_have = {"kafka", "clickhouse", "worker", "dashboard"}
    assert must_have <= {n for n, s in services.items() if "healthcheck" in s}
    for name, svc in services.items():
        hc = svc.get("healthcheck")
        if hc is None:
            continue
        test = hc["test"]
        assert isinstance(test, list) and test[0] in ("CMD", "CMD-SHELL") and len(test) > 1, name
        for key in ("interval", "timeout", "start_period"):
            assert DURATION.match(str(hc[key])), f"{name}.healthcheck.{key}={hc[key]!r}"
        assert int(hc["retries"]) >= 1, name


def test_depends_on_conditions(services: dict[str, dict[str, Any]]) -> None:
    for name, svc in services.items():
        deps = svc.get("depends_on", {})
        assert isinstance(deps, dict), f"{name}: use the long depends_on form with conditions"
        for dep, spec in deps.items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            assert spec["condition"] in CONDITIONS, (name, dep)
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep} healthy: no check"
            if spec["condition"] == "service_completed_successfully":
                assert services[dep].get("restart", "no") == "no", f"{dep} must be one-shot"
            if services[dep].get("profiles") and not svc.get("profiles"):
                pytest.fail(f"{name} (always on) depends on {dep}, which is under a profile")

    def cond(svc: str, dep: str) -> str:
        return str(services[svc]["depends_on"][dep]["condition"])

    assert cond("migrate", "clickhouse") == "service_healthy"
    assert cond("worker", "kafka") == "service_healthy"
    assert cond("worker", "migrate") == "service_completed_successfully"
    assert cond("dashboard", "migrate") == "service_completed_successfully"


def test_volumes_are_declared_and_bind_mounts_exist(compose: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    used = set()
    for name, svc in compose["services"].items():
        for vol in svc.get("volumes", []):
            source = vol.split(":")[0] if isinstance(vol, str) else vol["source"]
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name}: bind mount {source} missing"
            else:
                assert source in declared, f"{name}: volume {source} not declared"
                used.add(source)
    assert used == declared, f"declared but unused volumes: {declared - used}"
    mounts = {v.split(":")[1] for v in compose["services"]["kafka"]["volumes"]}
    assert compose["services"]["kafka"]["environment"]["KAFKA_LOG_DIRS"] in mounts
    assert any(
        v.endswith(":/var/lib/clickhouse") for v in compose["services"]["clickhouse"]["volumes"]
    )


# --- consistency with the code -------------------------------------------------------------------


def test_app_commands_are_real_buzz_subcommands(app_services: dict[str, dict[str, Any]]) -> None:
    root = typer.main.get_command(app)
    for name, svc in app_services.items():
        args = [str(a) for a in svc["command"]]
        cmd: Any = root
        path = []
        while hasattr(cmd, "commands") and args and args[0] in cmd.commands:
            path.append(args[0])
            cmd = cmd.commands[args.pop(0)]
        assert path and not hasattr(cmd, "commands"), f"{name}: {svc['command']} is not a command"
        # Parse the remaining arguments exactly as `buzz` would (options, types, arguments).
        ctx = cmd.make_context(" ".join(["buzz", *path]), args)
        # `source run` passes unknown --options on to the connector; none are used here, so
        # anything left over is a misspelt option (checking connector options is not done here).
        assert not ctx.args, f"{name}: options not known to `buzz {' '.join(path)}`: {ctx.args}"
    commands = {s["command"][0] for s in app_services.values()}
    assert {"migrate", "worker", "dashboard", "source"} <= commands


def test_command_check_catches_a_wrong_option() -> None:
    root = typer.main.get_command(app)
    with pytest.raises(Exception, match="--prot"):
        root.commands["dashboard"].make_context("dashboard", ["--prot", "8501"])
    ctx = root.commands["source"].commands["run"].make_context("run", ["demo", "--rat", "2"])
    assert ctx.args == ["--rat", "2"]  # what the leftover check above rejects


def test_app_services_share_the_env_anchor(
    raw: dict[str, Any], app_services: dict[str, dict[str, Any]]
) -> None:
    shared = raw["x-buzz-env"]
    for name in app_services:
        env = raw["services"][name]["environment"]
        # A service may add its own variables, but every shared one must be there unchanged.
        assert {k: env.get(k) for k in shared} == shared, name


def test_dashboard_listens_on_all_interfaces_in_its_container(raw: dict[str, Any]) -> None:
    env = raw["services"]["dashboard"]["environment"]
    assert env["BUZZ_DASHBOARD_HOST"] == "0.0.0.0"


def test_buzz_variables_are_settings_fields(compose: dict[str, Any]) -> None:
    fields = {"BUZZ_" + f.upper() for f in Settings.model_fields}
    seen = set()
    for name, svc in compose["services"].items():
        env = svc.get("environment") or {}
        assert isinstance(env, dict), f"{name}: use the mapping form of environment"
        for key in env:
            if key.startswith("BUZZ_"):
                assert key in fields, f"{name}: {key} is not a field of pipeline.settings.Settings"
                seen.add(key)
    assert {"BUZZ_KAFKA_URL", "BUZZ_CLICKHOUSE_URL", "BUZZ_PII_KEY"} <= seen


def test_app_environment_is_accepted_by_settings(compose: dict[str, Any]) -> None:
    env = compose["x-buzz-env"]
    values = {k.removeprefix("BUZZ_").lower(): v for k, v in env.items() if v is not None}
    settings = load_settings(_env_file=None, **values)
    assert not settings.embedded_broker and not settings.embedded_warehouse
    assert settings.pii_key is not None


def test_urls_point_at_the_services_and_default_ports(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    env = compose["x-buzz-env"]
    kafka_host, _, kafka_port = env["BUZZ_KAFKA_URL"].rpartition(":")
    assert kafka_host == "kafka" and "kafka" in services
    advertised = services["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    assert f"//{kafka_host}:{kafka_port}" in advertised

    url = urlsplit(env["BUZZ_CLICKHOUSE_URL"])
    assert url.hostname == "clickhouse" and url.username == "buzz"
    assert url.port == settings_default("warehouse_port") == 8123
    ch_env = services["clickhouse"]["environment"]
    assert url.password == ch_env["CLICKHOUSE_BUZZ_PASSWORD"], "writer password differs"
    assert 8123 in container_ports(services["clickhouse"])
    assert port_of(healthcheck_url(services["clickhouse"])) == 8123
    assert urlsplit(healthcheck_url(services["clickhouse"])).path == "/ping"


def test_ports_match_settings_defaults(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    env = compose["x-buzz-env"]
    dash_port = int(env.get("BUZZ_DASHBOARD_PORT") or settings_default("dashboard_port"))
    assert dash_port == 8501
    assert container_ports(services["dashboard"]) == [dash_port]
    assert port_of(healthcheck_url(services["dashboard"])) == dash_port
    assert urlsplit(healthcheck_url(services["dashboard"])).path == "/_stcore/health"

    web_port = int(env.get("BUZZ_WORKER_WEB_PORT") or settings_default("worker_web_port"))
    assert port_of(healthcheck_url(services["worker"])) == web_port
    assert urlsplit(healthcheck_url(services["worker"])).path == "/healthz"


def test_worker_can_be_scaled(services: dict[str, dict[str, Any]]) -> None:
    worker = services["worker"]
    assert "container_name" not in worker
    assert not worker.get("ports"), "published ports clash when the worker is scaled"


def test_demo_source_only_under_its_profile(app_services: dict[str, dict[str, Any]]) -> None:
    assert app_services["demo"]["profiles"] == ["demo"]
    assert app_services["demo"]["command"][:3] == ["source", "run", "demo"]
    for name, svc in app_services.items():
        if name != "demo":
            assert not svc.get("profiles"), f"{name} should run by default"
    assert app_services["migrate"]["restart"] == "no"


def test_kafka_kraft_single_node(compose: dict[str, Any]) -> None:
    env = compose["services"]["kafka"]["environment"]
    roles = set(env["KAFKA_PROCESS_ROLES"].split(","))
    assert roles == {"broker", "controller"}
    protocols = dict(p.split(":") for p in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    listeners = {item.split("://")[0] for item in env["KAFKA_LISTENERS"].split(",")}
    assert listeners <= set(protocols)
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] in listeners
    assert env["KAFKA_INTER_BROKER_LISTENER_NAME"] in listeners
    node_id = env["KAFKA_NODE_ID"]
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].startswith(f"{node_id}@")
    assert int(env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"]) == 1
    # The default CLUSTER_ID must be a base64 (URL-safe) UUID, as kafka-storage expects.
    cluster_id = env["CLUSTER_ID"]
    assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16
    # Auto-created topics get Faust's partition count (DESIGN.md: PartitionsMismatch).
    assert env["KAFKA_NUM_PARTITIONS"] == compose["x-buzz-env"]["BUZZ_TOPIC_PARTITIONS"]


def test_env_example_documents_every_variable(raw: dict[str, Any]) -> None:
    documented = set(read_env_file(ENV_EXAMPLE))
    commented = set(re.findall(r"^#\s*([A-Z][A-Z0-9_]+)=", ENV_EXAMPLE.read_text(), re.M))
    read = {name for name, _ in variables_read(raw)}
    # Variables passed through unset (`KEY:` with no value) are read from the environment too.
    passthrough = {
        k
        for s in raw["services"].values()
        for k, v in (s.get("environment") or {}).items()
        if v is None
    }
    assert read | passthrough <= documented | commented, (read | passthrough) - documented
    assert documented | commented <= read | passthrough, "documented but unused variables"
    required = {name for name, op in variables_read(raw) if op in (":?", "?")}
    assert required >= {"CLICKHOUSE_PASSWORD", "CLICKHOUSE_ANALYST_PASSWORD", "BUZZ_PII_KEY"}
    example = read_env_file(ENV_EXAMPLE)
    for name in required:
        assert example[name] == "", f"{name}: .env.example must not ship a secret"


def test_required_secrets_stop_compose(raw: dict[str, Any], example_env: dict[str, str]) -> None:
    for name in ("CLICKHOUSE_PASSWORD", "CLICKHOUSE_ANALYST_PASSWORD", "BUZZ_PII_KEY"):
        env = dict(example_env, **{name: ""})
        with pytest.raises(MissingVariable, match=name):
            interpolate(raw, env)


# --- Dockerfile ----------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text("utf-8").replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            op, _, rest = line.partition(" ")
            out.append((op.upper(), rest.strip()))
    return out


def test_dockerfile_builds_the_package_with_constraints() -> None:
    instructions = dockerfile_instructions()
    args = dict(rest.split("=", 1) for op, rest in instructions if op == "ARG" and "=" in rest)
    bases = [rest.split()[0] for op, rest in instructions if op == "FROM"]
    bases = [re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], b) for b in bases]
    assert bases and all(b == "python:3.11-slim" for b in bases), bases
    runs = " ".join(rest for op, rest in instructions if op == "RUN")
    assert re.search(r"pip install (.* )?-c constraints\.txt (.* )?\.(\s|$)", runs), runs
    copied = [
        src
        for op, rest in instructions
        if op == "COPY" and "--from" not in rest
        for src in rest.split()[:-1]
        if not src.startswith("--")
    ]
    assert {"pyproject.toml", "constraints.txt", "pipeline"} <= set(copied)
    missing = [src for src in copied if not (ROOT / src).exists()]
    if missing == ["README.md"]:
        pytest.skip("README.md (pyproject's readme, needed by `pip install .`) is not written yet")
    assert not missing, missing


def test_dockerfile_runs_buzz_as_non_root_without_secrets() -> None:
    instructions = dockerfile_instructions()
    entrypoints = [rest for op, rest in instructions if op == "ENTRYPOINT"]
    assert entrypoints and json.loads(entrypoints[-1]) == ["buzz"]
    users = [rest for op, rest in instructions if op == "USER"]
    assert users and users[-1] not in ("root", "0"), "the image must not run as root"
    for op, rest in instructions:
        if op in ("ENV", "ARG"):
            assert not re.search(r"(PASSWORD|SECRET|TOKEN|PII_KEY|CLICKHOUSE_URL)", rest), rest
    ignored = set(DOCKERIGNORE.read_text("utf-8").split())
    assert {".env", ".git", ".venv"} <= ignored


# --- ClickHouse users and config -----------------------------------------------------------------


@pytest.fixture(scope="module")
def users() -> ET.Element:
    return ET.parse(USERS_XML).getroot()


def test_clickhouse_files_are_mounted(services: dict[str, dict[str, Any]]) -> None:
    mounts = {
        v.split(":")[0]: v.split(":")[1] for v in services["clickhouse"]["volumes"] if ":" in v
    }
    assert mounts[f"./{USERS_XML.relative_to(ROOT)}"].startswith("/etc/clickhouse-server/users.d/")
    assert mounts[f"./{CONFIG_XML.relative_to(ROOT)}"].startswith(
        "/etc/clickhouse-server/config.d/"
    )


def test_analyst_is_readonly_2_with_constraints(users: ET.Element) -> None:
    analyst = users.find("users/analyst")
    assert analyst is not None
    profile = users.find(f"profiles/{analyst.findtext('profile')}")
    assert profile is not None
    assert profile.findtext("readonly") == "2"
    grants = [q.text for q in analyst.findall("grants/query")]
    assert grants and all(re.match(r"GRANT SELECT ON buzz\.", g or "") for g in grants), grants
    constraints = profile.find("constraints")
    assert constraints is not None and len(constraints), "analyst settings need constraints"
    for c in constraints:
        low, high = c.findtext("min"), c.findtext("max")
        value = profile.findtext(c.tag)
        if value is not None:
            assert low is None or float(value) >= float(low), c.tag
            assert high is None or float(value) <= float(high), c.tag


def test_users_passwords_come_from_compose(
    users: ET.Element, services: dict[str, dict[str, Any]]
) -> None:
    ch_env = services["clickhouse"]["environment"]
    for user in ("buzz", "analyst"):
        node = users.find(f"users/{user}/password")
        assert node is not None and not (node.text or "").strip(), f"{user}: no password in file"
        assert node.get("from_env") in ch_env, f"{user}: {node.get('from_env')} not set"
        assert ch_env[node.get("from_env")], user
    # The image's entrypoint would turn CLICKHOUSE_PASSWORD into the default user's password.
    assert "CLICKHOUSE_PASSWORD" not in ch_env
    networks = users.find("users/default/networks")
    assert networks is not None and networks.get("replace") == "replace"
    assert {ip.text for ip in networks.findall("ip")} <= {"::1", "127.0.0.1"}


def test_writer_can_run_migrations(users: ET.Element) -> None:
    grants = [q.text or "" for q in users.findall("users/buzz/grants/query")]
    assert any(re.match(r"GRANT ALL ON buzz\.\*", g) for g in grants), grants


def test_config_sets_deduplication_window() -> None:
    root = ET.parse(CONFIG_XML).getroot()
    window = root.findtext("merge_tree/non_replicated_deduplication_window")
    assert window is not None and int(window) > 0


# --- ClickHouse names and semantics, checked with chDB (the ClickHouse engine in-process) --------


@contextmanager
def chdb_session() -> Iterator[Any]:
    """A throw-away chDB session; chDB allows one active session per process."""
    from chdb import session

    s = session.Session()
    try:
        yield s
    finally:
        s.close()


def query_names(s: Any, table: str, names: set[str]) -> set[str]:
    quoted = ",".join("'" + n.replace("'", "") + "'" for n in sorted(names))
    result = s.query(f"SELECT name FROM system.{table} WHERE name IN ({quoted})", "CSV")
    return {line.strip('"') for line in str(result).split()}


def test_clickhouse_setting_names_exist(users: ET.Element) -> None:
    names = set()
    for profile in users.findall("profiles/*"):
        for child in profile:
            if child.tag == "constraints":
                names |= {c.tag for c in child}
            elif child.tag != "profile":
                names.add(child.tag)
    assert names
    config = ET.parse(CONFIG_XML).getroot()
    merge_tree = {c.tag for c in config.findall("merge_tree/*")}
    leaves = {c.tag for c in config if len(c) == 0} - {"display_name"}
    with chdb_session() as s:
        assert query_names(s, "settings", names) == names
        assert query_names(s, "merge_tree_settings", merge_tree) == merge_tree
        assert query_names(s, "server_settings", leaves) == leaves


def test_analyst_profile_allows_client_settings_but_no_writes(users: ET.Element) -> None:
    profile = users.find("profiles/analyst")
    assert profile is not None
    with chdb_session() as s:
        for child in profile:
            if child.tag not in ("constraints", "profile"):
                value = child.text or ""
                s.query(f"SET {child.tag} = {value if value.isdigit() else repr(value)}")
        for name in CLIENT_QUERY_SETTINGS:
            s.query(f"SET {name} = 1")  # readonly=1 would raise here
        assert str(s.query("SELECT 1", "CSV")).strip() == "1"
        with pytest.raises(Exception, match="readonly"):
            s.query("CREATE TABLE analyst_probe (a UInt8) ENGINE = Memory")
        with pytest.raises(Exception, match="readonly"):
            s.query("SET readonly = 0")


# --- the embedded warehouse's sandbox and the server's analyst profile agree ---------------------

# Settings the gateway also holds fixed that this ClickHouse release may not know; a profile
# naming an unknown setting would stop the server from loading its users.
GATEWAY_ONLY_SETTINGS = {
    "allow_experimental_ai_functions", "format_schema_source", "url_base",
    "allow_get_client_http_header", "profile",
}  # fmt: skip


def _constraint(profile: ET.Element, name: str) -> ET.Element:
    node = profile.find(f"constraints/{name}")
    assert node is not None, f"analyst profile has no constraint on {name}"
    return node


def test_analyst_limits_match_the_gateway_and_its_settings(users: ET.Element) -> None:
    from pipeline.warehouse.gateway_sandbox import Limits

    profile = users.find("profiles/analyst")
    assert profile is not None
    limits = Limits(
        max_result_rows=settings_default("analyst_max_result_rows"),
        max_execution_seconds=settings_default("analyst_max_execution_seconds"),
        max_memory_bytes=settings_default("analyst_max_memory_bytes"),
    )
    assert limits == Limits()  # the gateway's own defaults are the settings' defaults
    for name, (low, high) in limits.bounds().items():
        assert float(profile.findtext(name) or "nan") == high, name
        node = _constraint(profile, name)
        assert (float(node.findtext("min") or "nan"), float(node.findtext("max") or "nan")) == (
            low,
            high,
        ), name


def test_analyst_cannot_change_what_the_gateway_fixes(users: ET.Element) -> None:
    from pipeline.warehouse.gateway_sandbox import (
        FIXED_SETTINGS,
        FORBIDDEN_SETTINGS,
        OVERFLOW_SETTINGS,
    )

    profile = users.find("profiles/analyst")
    assert profile is not None
    for name, value in (FIXED_SETTINGS | OVERFLOW_SETTINGS).items():
        if name in GATEWAY_ONLY_SETTINGS:
            continue
        assert _constraint(profile, name).find("const") is not None, name
        assert (profile.findtext(name) or value) == value, name
    for name in FORBIDDEN_SETTINGS - GATEWAY_ONLY_SETTINGS:
        assert _constraint(profile, name).find("const") is not None, name


def test_gateway_table_functions_need_no_grant_on_a_server(users: ET.Element) -> None:
    """What the gateway lets an analyst call is what a server lets a user with only SELECT call
    in readonly mode (format() aside: its name is also a string function)."""
    from pipeline.warehouse.gateway_sandbox import ALLOWED_TABLE_FUNCTIONS

    with chdb_session() as s:
        rows = str(s.query("SELECT name FROM system.table_functions WHERE allow_readonly", "CSV"))
    readonly_ok = {line.strip('"').lower() for line in rows.split()}
    assert ALLOWED_TABLE_FUNCTIONS - {"format"} <= readonly_ok
    assert not readonly_ok & {"file", "url", "s3", "remote", "executable"}
