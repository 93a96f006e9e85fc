"""The Kubernetes example passes the API schemas and agrees with the image and the bot's config."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from bot.config import parse_config
from bot.errors import ConfigError
from tests.locking import ROOT

KUBERNETES = ROOT / "deploy" / "kubernetes"
# The oldest release still met on clusters, and the newest the validator knows.
VERSIONS = ("1.29.0", kubernetes_validate.utils.latest_version())


def resources() -> dict[str, dict[str, Any]]:
    """Kind -> the resource, for every file the kustomization lists."""
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text("utf-8"))
    found = {}
    for name in kustomization["resources"]:
        resource = yaml.safe_load((KUBERNETES / name).read_text("utf-8"))
        found[resource["kind"]] = resource
    return found


def container() -> dict[str, Any]:
    (bot,) = resources()["Deployment"]["spec"]["template"]["spec"]["containers"]
    return dict(bot)


def config_text() -> str:
    return str(resources()["ConfigMap"]["data"]["config.yaml"])


def test_every_file_of_the_directory_is_in_the_kustomization() -> None:
    """Nothing is left out of `kubectl apply -k`, and nothing listed is missing."""
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text("utf-8"))
    on_disk = {path.name for path in KUBERNETES.glob("*.yaml")} - {"kustomization.yaml"}
    assert sorted(kustomization["resources"]) == sorted(on_disk)


@pytest.mark.parametrize("version", VERSIONS)
def test_every_resource_passes_the_kubernetes_schema(version: str) -> None:
    """Each resource validates strictly (no unknown field) against the API's schemas."""
    found = resources()
    assert set(found) == {"Deployment", "PersistentVolumeClaim", "ConfigMap", "Secret"}
    for resource in found.values():
        kubernetes_validate.validate(resource, version, strict=True)


def test_the_schema_check_catches_a_misspelt_field() -> None:
    """A probe under a misspelt key is refused, so the check above can fail."""
    deployment = resources()["Deployment"]
    bot = deployment["spec"]["template"]["spec"]["containers"][0]
    bot["readinesProbe"] = bot.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError, match="readinesProbe"):
        kubernetes_validate.validate(deployment, VERSIONS[-1], strict=True)


def test_the_configuration_is_valid_once_its_placeholders_are_filled() -> None:
    """The ConfigMap's file is refused for its CHANGE_ME values alone, and accepted once they
    are replaced; its secrets come from the environment the Deployment sets."""
    environ = {item["name"]: "s3cret" for item in container()["env"]}
    with pytest.raises(ConfigError) as refused:
        parse_config(config_text(), source="configmap", environ=environ)
    assert all("placeholder value" in problem for problem in refused.value.problems)
    filled = config_text().replace("CHANGE_ME", "ssphub-bot")
    config = parse_config(filled, source="configmap", environ=environ)
    assert config.data_dir == Path("/data")
    assert config.web.host == "0.0.0.0"


def test_the_deployment_agrees_with_the_configuration_and_the_image() -> None:
    """Probes and scraping use the configured port, the volume is the data directory, secrets
    exist in the Secret, and the pod runs as the image's user, never as root."""
    config = parse_config(
        config_text().replace("CHANGE_ME", "x"), source="c", environ={"BOT_PASSWORD": "x"}
    )
    bot, pod = container(), resources()["Deployment"]["spec"]["template"]
    assert bot["ports"] == [{"name": "http", "containerPort": config.web.port}]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert bot[probe]["httpGet"] == {"path": "/healthz", "port": "http"}
    annotations = pod["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(config.web.port)
    assert annotations["prometheus.io/path"] == "/metrics"
    mounts = {mount["name"]: mount["mountPath"] for mount in bot["volumeMounts"]}
    assert Path(mounts["data"]) == config.data_dir
    secret = resources()["Secret"]["stringData"]
    assert {item["valueFrom"]["secretKeyRef"]["key"] for item in bot["env"]} <= set(secret)
    user = re.search(r"^USER (\d+):(\d+)$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert user is not None
    context = pod["spec"]["securityContext"]
    assert (context["runAsUser"], context["runAsGroup"]) == (int(user[1]), int(user[2]))
    assert context["runAsNonRoot"] and context["fsGroup"] == int(user[2])
    assert resources()["Deployment"]["spec"]["replicas"] == 1
