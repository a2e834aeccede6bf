"""The deployment files agree with the code (no Docker engine is needed to check this)."""

from pathlib import Path

import yaml

from services.app import DEFINITIONS
from shared.settings import Settings

DEPLOY = Path(__file__).parents[2] / "deploy"


def _known_variables() -> set[str]:
    names = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names.add(alias if isinstance(alias, str) else f"CONVENE_{name.upper()}")
    return names


def test_compose_runs_each_service_on_its_own_user_with_known_settings() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    for service in DEFINITIONS:
        spec = compose["services"][service]
        assert spec["command"] == ["run", service]
        assert set(spec["environment"]) <= _known_variables()
        assert spec["environment"]["AMQP_URL"].startswith(f"amqp://{service}:")
        assert spec["build"]["dockerfile"] == "deploy/Dockerfile"
    volumes = compose["services"]["rabbitmq"]["volumes"]
    for volume in volumes:
        assert (DEPLOY / volume.split(":")[0]).is_file()


def test_kubernetes_deploys_each_service_with_probes_and_known_settings() -> None:
    documents = list(yaml.safe_load_all((DEPLOY / "kubernetes/convene.yaml").read_text()))
    by_name = {d["metadata"]["name"]: d for d in documents}
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
