"""The deployment files agree with the code (no Docker engine is needed to check this)."""

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml
from typer.testing import CliRunner

from services.app import DEFINITIONS
from services.cli import app
from services.provision import generate_passwords
from shared.runtime.settings import Settings

DEPLOY = Path(__file__).parents[2] / "deploy"
SUPPORT = Path(__file__).parents[1] / "support"


def _known_variables() -> set[str]:
    names = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names.add(alias if isinstance(alias, str) else f"CONVENE_{name.upper()}")
    return names


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    """The Compose Specification's own JSON Schema (compose-spec/compose-spec, schema/
    compose-spec.json at 170098b, Apache-2.0), as `docker compose config` applies it."""
    schema = json.loads((SUPPORT / "compose-spec.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    errors = list(jsonschema.Draft7Validator(schema).iter_errors(_compose()))
    assert errors == [], [e.message for e in errors]
    broken = {**_compose(), "services": {"x": {"image": "a", "restarts": "always"}}}
    assert list(jsonschema.Draft7Validator(schema).iter_errors(broken))


def test_compose_runs_each_service_on_its_own_user_with_its_password_from_a_secret() -> None:
    compose = _compose()
    secrets = compose["secrets"]
    for service in DEFINITIONS:
        spec = compose["services"][service]
        assert spec["command"] == ["run", service]
        assert set(spec["environment"]) <= _known_variables()
        env = spec["environment"]
        assert env["AMQP_URL"].startswith(f"amqp://{service}@")  # no password in the URL
        assert (
            "@" in env["DATABASE_URL"]
            and ":" not in env["DATABASE_URL"].split("//")[1].split("@")[0]
        )
        mounted = {s["target"]: s["source"] for s in spec["secrets"] if isinstance(s, dict)}
        assert env["CONVENE_AMQP_PASSWORD_FILE"] == "/run/secrets/amqp_password"
        assert secrets[mounted["amqp_password"]]["file"] == f"./secrets/{service}"
        assert env["CONVENE_DATABASE_PASSWORD_FILE"] == "/run/secrets/database_password"
        assert spec["build"]["dockerfile"] == "deploy/Dockerfile"
        assert spec["read_only"] is True and spec["cap_drop"] == ["ALL"]
    assert "PASSWORD:" not in (DEPLOY / "compose.yaml").read_text().replace("_FILE:", "")


def test_compose_provisions_the_broker_from_the_secrets_before_it_starts(tmp_path: Path) -> None:
    compose = _compose()
    init = compose["services"]["broker-definitions"]
    targets = {s["target"]: compose["secrets"][s["source"]]["file"] for s in init["secrets"]}
    assert targets == {u: f"./secrets/{u}" for u in ("crm", "invitations", "reports", "decisions")}
    rabbitmq = compose["services"]["rabbitmq"]
    assert rabbitmq["depends_on"]["broker-definitions"] == {
        "condition": "service_completed_successfully"
    }
    volume = next(v for v in rabbitmq["volumes"] if v.startswith("broker-definitions:"))
    written = Path(init["command"][init["command"].index("--output") + 1])
    (init_volume,) = init["volumes"]
    assert init_volume == f"broker-definitions:{written.parent}"
    loads = re.search(
        r"^load_definitions = (\S+)$", (DEPLOY / "rabbitmq/rabbitmq.conf").read_text(), re.M
    )
    assert loads and loads[1] == f"{volume.split(':')[1]}/{written.name}"
    for mount in rabbitmq["volumes"]:
        if mount.startswith("./"):
            assert (DEPLOY / mount.split(":")[0]).is_file()
    # the command the one-shot container runs works, on secrets `broker secrets` made
    generate_passwords(tmp_path / "secrets")
    out = tmp_path / written.name
    args = [tmp_path / "secrets" if a == "/run/secrets" else a for a in init["command"]]
    args[args.index("--output") + 1] = str(out)
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    assert all(u["password_hash"] for u in json.loads(out.read_text())["users"])


def test_kubernetes_deploys_each_service_with_probes_and_known_settings() -> None:
    documents = list(yaml.safe_load_all((DEPLOY / "kubernetes/convene.yaml").read_text()))
    by_name = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Deployment"}
    for service in DEFINITIONS:
        container = by_name[f"convene-{service}"]["spec"]["template"]["spec"]["containers"][0]
        assert container["args"] == ["run", service]
        assert {e["name"] for e in container["env"]} <= _known_variables()
        assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
        assert container["livenessProbe"]["httpGet"]["path"] == "/live"


def test_dockerfile_copies_what_exists_and_runs_convene() -> None:
    lines = (DEPLOY / "Dockerfile").read_text().splitlines()
    root = DEPLOY.parent
    for line in lines:
        if line.startswith("COPY") and "--from" not in line:
            for source in line.split()[1:-1]:
                assert (root / source).exists(), source
    assert 'ENTRYPOINT ["convene"]' in lines


def _kubernetes() -> list[dict[str, Any]]:
    return list(yaml.safe_load_all((DEPLOY / "kubernetes/convene.yaml").read_text()))


def test_kubernetes_manifests_are_valid_against_the_api_schemas() -> None:
    """Every resource, checked strictly (no unknown field) against Kubernetes' schemas."""
    for document in _kubernetes():
        kubernetes_validate.validate(document, "1.37", strict=True)


def test_kubernetes_pods_meet_the_restricted_pod_security_standard() -> None:
    volume_types = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                    "persistentVolumeClaim", "projected", "secret"}  # fmt: skip
    for document in _kubernetes():
        if document["kind"] != "Deployment":
            continue
        pod = document["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        assert not any(pod.get(k) for k in ("hostNetwork", "hostPID", "hostIPC"))
        for volume in pod.get("volumes", []):
            assert set(volume) - {"name"} <= volume_types, volume
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False
            assert context["readOnlyRootFilesystem"] is True
            assert context["capabilities"]["drop"] == ["ALL"]
            assert not context.get("privileged") and "add" not in context["capabilities"]


def test_each_service_has_a_service_and_a_disruption_budget() -> None:
    kinds = {(d["kind"], d["metadata"]["name"]) for d in _kubernetes()}
    for service in DEFINITIONS:
        name = f"convene-{service}"
        assert {("Deployment", name), ("Service", name), ("PodDisruptionBudget", name)} <= kinds


def test_the_build_context_holds_only_what_the_image_is_built_from() -> None:
    ignored = (DEPLOY.parent / ".dockerignore").read_text().splitlines()
    assert ignored[[line.strip() for line in ignored].index("*")] == "*"  # all, then allow
    allowed = {line[1:].rstrip("/") for line in ignored if line.startswith("!")}
    copied = set()
    for line in (DEPLOY / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY") and "--from" not in line:
            copied |= {source.rstrip("/") for source in line.split()[1:-1]}
    assert copied == allowed  # .venv, var, tests and node_modules stay out


def test_the_base_image_is_pinned_to_a_release() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    image = re.search(r"ARG PYTHON_IMAGE=(\S+)", text)
    assert image and re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", image[1])


def test_the_grafana_dashboard_charts_metrics_the_services_export() -> None:
    from shared.observability import telemetry

    dashboard = json.loads((DEPLOY / "grafana/convene.json").read_text())
    ours = {
        name
        for metric in telemetry.registry().collect()
        for name in [metric.name]
        if name.startswith("convene_")
    }
    faststream = {
        "faststream_received_messages", "faststream_published_messages",
        "faststream_received_processed_messages",
    }  # fmt: skip
    used = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            used |= set(re.findall(r"\b((?:convene|faststream)_[a-z_]+)", target["expr"]))
    assert used
    for name in used:
        base = re.sub(r"_(total|bucket|count|sum)$", "", name)
        assert base in ours or base in faststream, name
    assert {m for m in ours} <= {re.sub(r"_(total|bucket)$", "", u) for u in used}  # all shown
