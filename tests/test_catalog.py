"""The shipped ZenML 0.66.0 catalogs (store/catalog/).

Two kinds of tests:

* Pure ones: the loader returns well-formed, self-consistent data.
* One `compat` test that recomputes the catalogs' facts with the zenml==0.66.0
  package itself, in the client venv the compatibility harness caches at
  `.cache/zenml-0.66.0` (built here, the same way and under the same lock,
  if it is missing), and compares them with the committed JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import pytest

import store.catalog as catalog
from tests.support import ZENML_VERSION, clean_environ, ensure_zenml_venv

ROOT = Path(__file__).resolve().parents[1]
CATALOG_DIR = ROOT / "store" / "catalog"
OPENAPI = ROOT / "schemas" / "zenml-0.66.0-openapi.json"

SCRIPT_TIMEOUT = 300

# (type, name) of flavors whose fields are checked one by one.
SAMPLE_FLAVORS = [
    ("orchestrator", "local"),
    ("artifact_store", "s3"),
    ("orchestrator", "kubernetes"),
    ("container_registry", "dockerhub"),
    ("experiment_tracker", "mlflow"),
]
SAMPLE_FIELDS = (
    "source",
    "integration",
    "connector_type",
    "connector_resource_type",
    "connector_resource_id_attr",
    "logo_url",
    "sdk_docs_url",
    "is_custom",
)


def _component_types() -> set[str]:
    spec = json.loads(OPENAPI.read_text())
    return set(spec["components"]["schemas"]["StackComponentType"]["enum"])


# ---------------------------------------------------------------------------
# Pure tests: the loader and the data
# ---------------------------------------------------------------------------


def test_files_are_canonical_json():
    """Generated with indent=1, one trailing newline, no local paths."""
    for name in ("flavors.json", "service_connector_types.json", "integrations.json"):
        text = (CATALOG_DIR / name).read_text(encoding="utf-8")
        document = json.loads(text)
        assert document["zenml_version"] == ZENML_VERSION
        assert text == json.dumps(document, indent=1, ensure_ascii=False) + "\n", name
        for local in (str(ROOT), "/root/", "/home/", "/tmp/", "site-packages"):
            assert local not in text, f"{name} mentions {local}"


def test_catalog_is_complete():
    """The committed files were generated with nothing skipped."""
    assert json.loads((CATALOG_DIR / "flavors.json").read_text())["skipped_integrations"] == []
    connectors = json.loads((CATALOG_DIR / "service_connector_types.json").read_text())
    assert connectors["skipped_modules"] == []


def test_flavors_are_well_formed():
    valid_types = _component_types()
    integration_names = {i["name"] for i in catalog.integrations()}
    flavors = catalog.flavors()
    assert flavors, "no flavors"
    keys = [(f["type"], f["name"]) for f in flavors]
    assert keys == sorted(keys), "flavors are not sorted by (type, name)"
    assert len(set(keys)) == len(keys), "duplicate (type, name)"
    for f in flavors:
        where = f"{f.get('type')}/{f.get('name')}"
        assert isinstance(f["name"], str) and f["name"], where
        assert f["type"] in valid_types, where
        assert isinstance(f["source"], str) and f["source"].startswith("zenml."), where
        assert f["source"].endswith("Flavor"), where
        schema = f["config_schema"]
        assert isinstance(schema, dict) and schema.get("type") == "object", where
        assert isinstance(schema.get("properties", {}), dict), where
        assert f["is_custom"] is False, where
        assert f["integration"] == catalog.BUILTIN_INTEGRATION or f["integration"] in integration_names, where
        if f["connector_type"] is not None:
            assert catalog.service_connector_type(f["connector_type"]) is not None, where
        if f["connector_resource_type"] is not None:
            assert f["connector_resource_type"] in {
                r["resource_type"]
                for t in catalog.service_connector_types()
                for r in t["resource_types"]
            }, where
        assert catalog.flavor(f["type"], f["name"]) is f


def test_known_flavors():
    local = catalog.flavor("orchestrator", "local")
    assert local["integration"] == "built-in"
    assert local["source"] == "zenml.orchestrators.local.local_orchestrator.LocalOrchestratorFlavor"
    s3 = catalog.flavor("artifact_store", "s3")
    assert s3["integration"] == "s3"
    assert "path" in s3["config_schema"]["properties"]
    assert s3["connector_resource_type"] == "s3-bucket"
    assert catalog.flavor("orchestrator", "kubernetes")["integration"] == "kubernetes"
    assert catalog.flavor("orchestrator", "nope") is None


def test_connector_types_are_well_formed():
    types = catalog.service_connector_types()
    names = [t["connector_type"] for t in types]
    assert names == sorted(names) and len(set(names)) == len(names)
    assert {"aws", "azure", "docker", "gcp", "kubernetes"} <= set(names)
    for t in types:
        assert "connector_class" not in t
        assert t["name"] and t["description"]
        assert t["local"] is True and t["remote"] is False
        assert t["resource_types"] and t["auth_methods"]
        methods = {m["auth_method"] for m in t["auth_methods"]}
        for m in t["auth_methods"]:
            assert isinstance(m["config_schema"], dict)
        for r in t["resource_types"]:
            assert set(r["auth_methods"]) <= methods, (t["connector_type"], r["resource_type"])
    docker = catalog.service_connector_type("docker")
    assert [r["resource_type"] for r in docker["resource_types"]] == ["docker-registry"]


def test_integrations_and_requirements():
    integrations = catalog.integrations()
    names = [i["name"] for i in integrations]
    assert names == sorted(names) and len(set(names)) == len(names)
    flavor_keys = {(f["type"], f["name"]): f for f in catalog.flavors()}
    for i in integrations:
        for key in ("requirements", "resolved_requirements", "uninstall_requirements",
                    "requirements_ignored_on_uninstall", "apt_packages"):
            assert isinstance(i[key], list) and all(isinstance(r, str) for r in i[key]), (i["name"], key)
        assert set(i["requirements"]) <= set(i["resolved_requirements"]), i["name"]
        for ref in i["flavors"]:
            assert flavor_keys[(ref["type"], ref["name"])]["integration"] == i["name"]
        assert catalog.integration_requirements(i["name"]) == i["resolved_requirements"]
    # Every flavor is accounted for: built-in, or listed by its integration.
    listed = {(r["type"], r["name"]) for i in integrations for r in i["flavors"]}
    builtin = {(b["type"], b["name"]) for b in catalog.builtin_flavors()}
    assert listed.isdisjoint(builtin)
    assert listed | builtin == set(flavor_keys)
    for b in catalog.builtin_flavors():
        assert b["requirements"] == [] and b["apt_packages"] == []
        assert catalog.flavor_requirements(b["type"], b["name"]) == {"requirements": [], "apt_packages": []}

    assert catalog.integration_requirements("built-in") == []
    assert any(r.startswith("s3fs") for r in catalog.integration_requirements("s3"))
    mlflow = catalog.integration("mlflow")
    assert mlflow["requirements"][0].startswith("mlflow")
    assert len(mlflow["resolved_requirements"]) == len(set(mlflow["resolved_requirements"]))
    assert catalog.flavor_requirements("orchestrator", "kubernetes")["requirements"] == (
        catalog.integration_requirements("kubernetes")
    )
    with pytest.raises(KeyError):
        catalog.integration_requirements("no-such-integration")
    with pytest.raises(KeyError):
        catalog.flavor_requirements("orchestrator", "no-such-flavor")
    assert any(r.startswith("pydantic") for r in catalog.zenml_requirements())
    assert "server" in catalog.zenml_extras()


def test_loader_caches():
    assert catalog.flavors() is catalog.flavors()
    assert catalog.integrations() is catalog.integrations()
    catalog.clear_cache()
    assert catalog.service_connector_types()


def test_loader_does_not_import_zenml():
    code = (
        "import sys, store.catalog as c; c.flavors(); c.service_connector_types(); "
        "c.integrations(); assert 'zenml' not in sys.modules, 'zenml imported'"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


# ---------------------------------------------------------------------------
# Against the zenml==0.66.0 package itself
# ---------------------------------------------------------------------------


# Runs inside the zenml venv and prints one JSON document. It recomputes the
# facts straight from the package: the registry's flavor classes and their
# request models, the service connector registry, the integration registry.
RECOMPUTE = textwrap.dedent(
    r'''
    import ast, importlib, importlib.metadata, inspect, json, sys, textwrap

    import zenml
    import zenml.stack.flavor as flavor_module

    # The catalog pins the PyPI "is this the latest zenml" look-up to False.
    flavor_module.is_latest_zenml_version = lambda: False

    from zenml.integrations.registry import integration_registry
    from zenml.service_connectors.service_connector_registry import (
        ServiceConnectorRegistry, service_connector_registry,
    )
    from zenml.stack.flavor_registry import FlavorRegistry

    out = {
        "zenml_version": zenml.__version__,
        "python_version": "%d.%d" % sys.version_info[:2],
    }

    flavors, failed = {}, {}
    def add(cls, integration):
        model = cls().to_model(integration=integration, is_custom=False)
        dumped = model.model_dump(mode="json")
        flavors[dumped["type"] + "/" + dumped["name"]] = dumped
    for cls in FlavorRegistry().builtin_flavors:
        add(cls, "built-in")
    for name, integration in integration_registry.integrations.items():
        try:
            for cls in integration.flavors():
                add(cls, name)
        except Exception as e:
            failed[name] = repr(e)
    out["flavors"] = flavors
    out["failed_integrations"] = failed

    source = textwrap.dedent(inspect.getsource(
        ServiceConnectorRegistry.register_builtin_service_connectors))
    modules = [n.module for n in ast.walk(ast.parse(source))
               if isinstance(n, ast.ImportFrom) and n.module]
    missing = {}
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as e:
            missing[module] = repr(e)
    out["connector_modules"] = modules
    out["connector_modules_missing"] = missing
    out["connector_types"] = {
        t.connector_type: t.model_dump(mode="json")
        for t in service_connector_registry.list_service_connector_types()
    }

    integrations = {}
    for name, cls in integration_registry.integrations.items():
        live = list(cls.REQUIREMENTS)
        integrations[name] = {
            "live_requirements": live,
            "resolved": sorted(set(cls.get_requirements(target_os="Linux"))),
            "apt_packages": list(cls.APT_PACKAGES),
            "ignored_on_uninstall": list(cls.REQUIREMENTS_IGNORED_ON_UNINSTALL),
            "flavors": sorted(
                [f().type.value, f().name] for f in cls.flavors()
            ) if name not in failed else None,
        }
    out["integrations"] = integrations
    out["zenml_base_requirements"] = len([
        r for r in importlib.metadata.requires("zenml") or [] if "extra ==" not in r
    ])
    print("__CATALOG__" + json.dumps(out))
    '''
)


@pytest.fixture(scope="module")
def recomputed() -> dict[str, Any]:
    python = ensure_zenml_venv().python
    with tempfile.TemporaryDirectory(prefix="zenyard-catalog-test-") as config:
        done = subprocess.run(
            [str(python), "-c", RECOMPUTE],
            capture_output=True, text=True, timeout=SCRIPT_TIMEOUT, cwd=config,
            env={
                **clean_environ(),
                "ZENML_CONFIG_PATH": config,
                "ZENML_ANALYTICS_OPT_IN": "false",
                "ZENML_LOGGING_VERBOSITY": "ERROR",
            },
        )
    assert done.returncode == 0, done.stderr[-4000:]
    line = next(l for l in done.stdout.splitlines() if l.startswith("__CATALOG__"))
    return json.loads(line[len("__CATALOG__"):])


@pytest.mark.compat
def test_flavors_match_zenml(recomputed):
    assert recomputed["zenml_version"] == ZENML_VERSION
    assert recomputed["failed_integrations"] == {}
    ours = {f"{f['type']}/{f['name']}": f for f in catalog.flavors()}
    theirs = recomputed["flavors"]

    def per_type(keys):
        counts: dict[str, int] = {}
        for key in keys:
            counts[key.split("/")[0]] = counts.get(key.split("/")[0], 0) + 1
        return counts

    assert len(ours) == len(theirs)
    assert per_type(ours) == per_type(theirs)
    assert set(ours) == set(theirs)

    for component_type, name in SAMPLE_FLAVORS:
        key = f"{component_type}/{name}"
        for field in SAMPLE_FIELDS:
            assert ours[key][field] == theirs[key][field], (key, field)
        assert list(ours[key]["config_schema"].get("properties", {})) == list(
            theirs[key]["config_schema"].get("properties", {})
        ), key
    # And the rest, whole (docs URLs included: both pin "not the latest").
    for key, theirs_entry in theirs.items():
        expected = {k: v for k, v in theirs_entry.items() if k in ours[key]}
        assert ours[key] == expected, key


@pytest.mark.compat
def test_connector_types_match_zenml(recomputed):
    ours = {t["connector_type"]: t for t in catalog.service_connector_types()}
    theirs = recomputed["connector_types"]
    # One connector type per module the registry imports; a bare zenml install
    # lacks the cloud SDKs, so only some import there (docker always does).
    assert len(ours) == len(recomputed["connector_modules"])
    assert len(theirs) == len(recomputed["connector_modules"]) - len(
        recomputed["connector_modules_missing"]
    )
    assert "docker" in theirs
    for connector_type, dumped in theirs.items():
        assert ours[connector_type] == dumped, connector_type


@pytest.mark.compat
def test_integrations_match_zenml(recomputed):
    ours = {i["name"]: i for i in catalog.integrations()}
    theirs = recomputed["integrations"]
    assert set(ours) == set(theirs)
    same_python = recomputed["python_version"] == json.loads(
        (CATALOG_DIR / "integrations.json").read_text()
    )["python_version"]
    for name, info in theirs.items():
        entry = ours[name]
        assert entry["apt_packages"] == info["apt_packages"], name
        assert entry["requirements_ignored_on_uninstall"] == info["ignored_on_uninstall"], name
        # zenml may have extended REQUIREMENTS in place (mlflow does), so the
        # declared list is a prefix of the live one.
        assert info["live_requirements"][: len(entry["requirements"])] == entry["requirements"], name
        if same_python:
            assert sorted(set(entry["resolved_requirements"])) == info["resolved"], name
        assert sorted([f["type"], f["name"]] for f in entry["flavors"]) == info["flavors"], name
    document = json.loads((CATALOG_DIR / "integrations.json").read_text())
    assert len(document["zenml_requirements"]) == recomputed["zenml_base_requirements"]
