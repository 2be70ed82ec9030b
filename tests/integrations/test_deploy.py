"""deploy/kubernetes and the Dockerfile: schema-valid manifests that fit together, offline.

Built-in kinds are validated strictly (unknown fields are errors) against the Kubernetes
OpenAPI schemas bundled in `kubernetes-validate`; the ServiceMonitor CRD against a minimal
schema written from the prometheus-operator API reference. The ConfigMap's wattlens.toml is
loaded by the real config loader, and the probe paths are answered by the real web app.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from fastapi.testclient import TestClient

from wattlens.config import load_config
from wattlens.store import Store
from wattlens.web.app import create_app

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "kubernetes"
DATA = Path(__file__).parent / "data"
K8S_VERSION = "1.30.0"


def _docs() -> dict[str, dict[str, Any]]:
    out = {}
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                out[doc["kind"]] = doc
    return out


DOCS = _docs()


def test_kustomization_lists_every_manifest() -> None:
    listed = set(DOCS["Kustomization"]["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}


@pytest.mark.parametrize("kind", sorted(set(DOCS) - {"Kustomization", "ServiceMonitor"}))
def test_builtin_kinds_validate_strictly(kind: str) -> None:
    kubernetes_validate.validate(DOCS[kind], K8S_VERSION, strict=True)


def test_strict_validation_catches_a_typo() -> None:
    bad = json.loads(json.dumps(DOCS["Deployment"]))
    bad["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSION, strict=True)


def test_servicemonitor_validates() -> None:
    schema = json.loads((DATA / "servicemonitor.schema.json").read_text())
    jsonschema.validate(DOCS["ServiceMonitor"], schema)


def test_manifests_refer_to_each_other() -> None:
    dep, svc, ing, sm = DOCS["Deployment"], DOCS["Service"], DOCS["Ingress"], DOCS["ServiceMonitor"]
    pod = dep["spec"]["template"]
    assert dep["spec"]["replicas"] == 1 and dep["spec"]["strategy"]["type"] == "Recreate"
    labels = pod["metadata"]["labels"]
    assert svc["spec"]["selector"].items() <= labels.items()
    assert sm["spec"]["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items()
    c = pod["spec"]["containers"][0]
    ports = {p["name"] for p in c["ports"]}
    assert {p["targetPort"] for p in svc["spec"]["ports"]} <= ports
    svc_ports = {p["name"] for p in svc["spec"]["ports"]}
    assert {e["port"] for e in sm["spec"]["endpoints"]} <= svc_ports
    backend = ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == svc["metadata"]["name"] and backend["port"]["name"] in svc_ports
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == DOCS[
        "PersistentVolumeClaim"]["metadata"]["name"]  # fmt: skip
    assert volumes["config"]["configMap"]["name"] == DOCS["ConfigMap"]["metadata"]["name"]
    assert volumes["token"]["secret"]["secretName"] == DOCS["Secret"]["metadata"]["name"]
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True


def test_configmap_config_loads_and_points_at_the_mounts(tmp_path: Path) -> None:
    text = DOCS["ConfigMap"]["data"]["wattlens.toml"]
    container = DOCS["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    token_path = f"{mounts['token']}/{next(iter(DOCS['Secret']['stringData']))}"
    assert f'bearer_token_file = "{token_path}"' in text
    assert f'path = "{mounts["data"]}/wattlens.duckdb"' in text
    token = tmp_path / "token"  # stands in for the mounted Secret (the loader wants the file)
    token.write_text("t0ken")
    cfg_file = tmp_path / "wattlens.toml"
    cfg_file.write_text(text.replace(token_path, str(token)))
    cfg = load_config(cfg_file, environ={})
    assert cfg.backend.resolved_bearer_token().reveal() == "t0ken"
    assert cfg.service.host == "0.0.0.0" and cfg.service.port == 8080


def test_probe_paths_are_answered_by_the_web_app(tmp_path: Path) -> None:
    (tmp_path / "wattlens.toml").write_text("")
    with Store.open(tmp_path / "w.duckdb") as store:
        app = create_app(store=store, config=load_config(tmp_path / "wattlens.toml", environ={}),
                         live=False)  # fmt: skip
        with TestClient(app) as client:
            assert client.get("/healthz").status_code == 200
            assert client.get("/readyz").status_code in (200, 503)  # 503: no data yet


def test_dockerfile_is_slim_non_root_with_a_healthcheck() -> None:
    text = (ROOT / "Dockerfile").read_text()
    froms = [line.split()[1] for line in text.splitlines() if line.startswith("FROM ")]
    assert froms and all(f.startswith("python:") and f.endswith("-slim") for f in froms)
    users = [line for line in text.splitlines() if line.startswith("USER ")]
    assert users and users[-1].split()[1].split(":")[0] not in ("0", "root")
    assert "HEALTHCHECK" in text and "/healthz" in text
