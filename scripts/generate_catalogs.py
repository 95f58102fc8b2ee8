#!/usr/bin/env python3
"""Generate the ZenML 0.66.0 catalogs that Zenyard ships in store/catalog/.

Run it with an interpreter that has zenml==0.66.0 installed (Zenyard itself
never imports zenml at run time, so the facts are frozen into JSON files):

    /path/to/zenml-venv/bin/python scripts/generate_catalogs.py

It writes five files, deterministically (same interpreter and packages give
the same bytes; no timestamps, no local paths):

* ``flavors.json``: what a fresh ZenML 0.66.0 server registers at startup,
  i.e. ``FlavorRegistry.register_builtin_flavors`` (integration "built-in")
  followed by ``register_integration_flavors`` (one integration at a time;
  an integration whose flavors raise is skipped with a warning, exactly as
  the server does). Each entry holds the fields of the flavor request model
  the server stores (``flavor().to_model(integration=..., is_custom=False)``).
* ``service_connector_types.json``: ``service_connector_registry
  .list_service_connector_types()``, what ``GET /api/v1/service_connector_types``
  returns. Each connector type is registered only if its module imports, so
  the list depends on the SDKs installed next to zenml: the official server
  image ships the AWS, GCP, Azure and Kubernetes SDKs. By default this script
  refuses to write a catalog with a connector type missing; install the
  extras (see ``CONNECTOR_EXTRAS_HINT``) or pass ``--allow-missing``.
* ``integrations.json``: every integration's declared requirements, its
  requirements resolved for a Linux image (``get_requirements("Linux")``),
  APT packages, uninstall exclusions and flavors; the built-in flavors (no
  extra requirements); zenml's own install requirements and extras.

* ``plugin_flavors.json``: what ``PluginFlavorRegistry`` registers (the
  built-in pipeline-run action, then each integration's plugin flavors: the
  GitHub and Bitbucket webhook event sources), in its listing order, each as
  the hydrated flavor response ``GET /api/v1/plugin-flavors/{name}`` answers.
  Importing them needs the server extras (FastAPI): run this script with the
  interpreter of a ``zenml[server]==0.66.0`` install.
* ``stack_deployments.json``: per provider (aws, gcp, azure) the
  ``StackDeploymentInfo`` and the deployment type, and the deployment
  configuration rendered with placeholders (``%%stack_name%%``,
  ``%%location%%``, ``%%server_url%%``, ``%%api_token%%``, ``%%random%%``)
  for each of: CLI or Terraform deployment, with or without a location.
  Zenyard fills the placeholders per request.

Two deliberate pins keep the output reproducible:

* ``Flavor.generate_default_docs_url`` asks PyPI whether the running zenml is
  the latest release and picks a docs base from the answer. The answer is
  pinned to "not the latest" (``ZENML_IS_LATEST``), which is what a 0.66.0
  server with network access reports now that newer releases exist, and it
  keeps the generator off the network.
* Requirements are resolved for ``TARGET_OS`` ("Linux", what container images
  run); the Python minor version of the generating interpreter is recorded,
  since a few integrations choose requirements by it.

Options: ``--out DIR`` (default: store/catalog next to this script's repo),
``--only FILE ...`` (write or check only these files),
``--check`` (compare with the files on disk, write nothing, exit 1 on a
difference), ``--allow-missing`` (write even if a flavor or connector type
could not be imported; the skipped ones are listed in the files).
"""

from __future__ import annotations

import argparse
import ast
import inspect
import json
import os
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any, Callable

ZENML_VERSION = "0.66.0"
TARGET_OS = "Linux"
ZENML_IS_LATEST = False
BUILTIN_INTEGRATION = "built-in"

FLAVORS_FILE = "flavors.json"
CONNECTOR_TYPES_FILE = "service_connector_types.json"
INTEGRATIONS_FILE = "integrations.json"
PLUGIN_FLAVORS_FILE = "plugin_flavors.json"
STACK_DEPLOYMENTS_FILE = "stack_deployments.json"

#: Placeholders of the rendered stack deployment configurations.
DEPLOYMENT_PLACEHOLDERS = {
    "stack_name": "%%stack_name%%",
    "location": "%%location%%",
    "zenml_server_url": "%%server_url%%",
    "zenml_server_api_token": "%%api_token%%",
}
RANDOM_PLACEHOLDER = "%%random%%"

# Fields of the flavor request the server stores for a built-in/integration
# flavor (user and workspace are always None for those, so they are left out).
FLAVOR_FIELDS = (
    "name",
    "type",
    "config_schema",
    "connector_type",
    "connector_resource_type",
    "connector_resource_id_attr",
    "source",
    "integration",
    "logo_url",
    "docs_url",
    "sdk_docs_url",
    "is_custom",
)

# azure-mgmt-resource 24 moved SubscriptionClient out, which the 0.66.0 Azure
# connector imports; paramiko is what the HyperAI connector imports.
CONNECTOR_EXTRAS_HINT = (
    'pip install "zenml[connectors-aws,connectors-gcp,connectors-azure,'
    'connectors-kubernetes]==0.66.0" "azure-mgmt-resource<24" paramiko'
)

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "store" / "catalog"


def _isolate_environment() -> tempfile.TemporaryDirectory:
    """Keep zenml away from the caller's config, store and analytics.

    Must run before zenml is imported: it reads its environment at import.
    """
    for key in list(os.environ):
        if key.startswith("ZENML_"):
            del os.environ[key]
    config_dir = tempfile.TemporaryDirectory(prefix="zenyard-catalog-")
    os.environ["ZENML_CONFIG_PATH"] = config_dir.name
    os.environ["ZENML_ANALYTICS_OPT_IN"] = "false"
    os.environ["ZENML_LOGGING_VERBOSITY"] = "ERROR"
    os.environ["ZENML_ENABLE_RICH_TRACEBACK"] = "false"
    return config_dir


def _require_zenml() -> Any:
    try:
        import zenml
    except ImportError as e:
        sys.exit(
            f"error: this script needs zenml=={ZENML_VERSION} installed in the "
            f"interpreter that runs it ({e}). Run it as\n"
            f"    /path/to/zenml-{ZENML_VERSION}-venv/bin/python {Path(__file__).name}"
        )
    if zenml.__version__ != ZENML_VERSION:
        sys.exit(
            f"error: found zenml {zenml.__version__}, but the catalogs describe "
            f"zenml {ZENML_VERSION}; run this script with a zenml=={ZENML_VERSION} "
            f"interpreter."
        )
    return zenml


def _describe(error: BaseException) -> str:
    """An error as 'Type: message', without any local path in it."""
    text = f"{type(error).__name__}: {error}"
    prefixes = {sys.prefix, sys.base_prefix, str(Path.home()), str(REPO_ROOT)}
    for prefix in sorted(prefixes, key=len, reverse=True):
        if prefix and prefix != "/":
            text = text.replace(prefix, "<prefix>")
    return text


# ---------------------------------------------------------------------------
# Flavors
# ---------------------------------------------------------------------------


def _flavor_entry(flavor_class: type, integration: str) -> dict[str, Any]:
    model = flavor_class().to_model(integration=integration, is_custom=False)
    dumped = model.model_dump(mode="json")
    return {field: dumped[field] for field in FLAVOR_FIELDS}


def collect_flavors() -> tuple[list[dict[str, Any]], list[dict[str, str]], list[str]]:
    """Flavors in the server's registration order, keyed like its store.

    Returns (flavors sorted by type and name, skipped integrations, notes).
    The server creates a flavor, or updates the existing one with the same
    name and type; a later registration therefore replaces an earlier one.
    """
    from zenml.integrations.registry import integration_registry
    from zenml.stack.flavor_registry import FlavorRegistry

    registered: dict[tuple[str, str], dict[str, Any]] = {}
    notes: list[str] = []
    skipped: list[dict[str, str]] = []

    def store(entry: dict[str, Any]) -> None:
        key = (entry["type"], entry["name"])
        if key in registered:
            notes.append(
                f"flavor {key[1]!r} ({key[0]}) of {registered[key]['integration']!r} "
                f"is replaced by the one of {entry['integration']!r}"
            )
        registered[key] = entry

    # Built-ins: the server lets an exception here propagate (startup fails).
    for flavor_class in FlavorRegistry().builtin_flavors:
        store(_flavor_entry(flavor_class, BUILTIN_INTEGRATION))

    # Integrations: one try per integration, as the server does. Flavors of an
    # integration registered before the one that raised stay registered.
    for name, integration in integration_registry.integrations.items():
        try:
            for flavor_class in integration.flavors():
                store(_flavor_entry(flavor_class, name))
        except Exception as e:  # noqa: BLE001 - mirrors the server
            skipped.append({"integration": name, "error": _describe(e)})

    flavors = sorted(registered.values(), key=lambda f: (f["type"], f["name"]))
    return flavors, skipped, notes


# ---------------------------------------------------------------------------
# Service connector types
# ---------------------------------------------------------------------------


def _connector_modules() -> list[str]:
    """The modules `register_builtin_service_connectors` tries to import."""
    from zenml.service_connectors.service_connector_registry import (
        ServiceConnectorRegistry,
    )

    source = textwrap.dedent(
        inspect.getsource(ServiceConnectorRegistry.register_builtin_service_connectors)
    )
    return [
        node.module
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and node.module
    ]


def collect_connector_types() -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """The connector types the server lists, and the modules it could not import."""
    import importlib

    from zenml.service_connectors.service_connector_registry import (
        service_connector_registry,
    )

    # The registry logs and swallows an ImportError per connector module;
    # import them here first to learn which ones fail and why.
    skipped = []
    for module in _connector_modules():
        try:
            importlib.import_module(module)
        except ImportError as e:
            skipped.append({"module": module, "error": _describe(e)})

    types = [
        connector_type.model_dump(mode="json")
        for connector_type in service_connector_registry.list_service_connector_types()
    ]
    types.sort(key=lambda t: t["connector_type"])
    return types, skipped


# ---------------------------------------------------------------------------
# Integrations and requirements
# ---------------------------------------------------------------------------


def _declared_list(cls: type, attribute: str) -> list[str]:
    """A class attribute list as written in the source.

    Some integrations extend `REQUIREMENTS` in place when `get_requirements`
    runs (mlflow does, and zenml calls it at import), so the live attribute
    is not what the integration declares. Read the literal from the class
    body, falling back to the live value for non-literal definitions.
    """
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError, SyntaxError):
        tree = None
    if tree is not None:
        for node in tree.body[0].body:  # type: ignore[attr-defined]
            targets = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                targets = [node.target]
            if any(isinstance(t, ast.Name) and t.id == attribute for t in targets):
                try:
                    return list(ast.literal_eval(node.value))
                except ValueError:
                    break
    return _unique(getattr(cls, attribute, []))


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _resolved_requirements(
    cls: type, declared: list[str], getter: Callable[[type], list[str]]
) -> list[str]:
    """`getter(cls)` evaluated against the declared list, without side effects."""
    live = cls.__dict__.get("REQUIREMENTS")
    if live is not None:
        cls.REQUIREMENTS = list(declared)  # type: ignore[attr-defined]
    try:
        return _unique(list(getter(cls)))
    finally:
        if live is not None:
            cls.REQUIREMENTS = live  # type: ignore[attr-defined]


def _zenml_requirements() -> tuple[list[str], dict[str, list[str]]]:
    """zenml's own install requirements and extras, from its package metadata."""
    from importlib.metadata import requires

    try:
        from packaging.requirements import Requirement
    except ImportError:  # pragma: no cover - zenml depends on packaging
        Requirement = None  # type: ignore[assignment]

    base: list[str] = []
    extras: dict[str, list[str]] = {}
    for raw in requires("zenml") or []:
        if Requirement is None:
            base.append(raw)
            continue
        req = Requirement(raw)
        marker = str(req.marker) if req.marker else ""
        if "extra ==" not in marker:
            base.append(str(req))
            continue
        # Split "extra == 'a' or extra == 'b'" into the extras it names and
        # keep any other marker out of the extra's entry.
        names = [
            part.split("==", 1)[1].strip().strip("\"'")
            for part in marker.split(" or ")
            if part.strip().startswith("extra ==")
        ]
        req.marker = None
        for name in names:
            extras.setdefault(name, []).append(str(req))
    return base, {name: extras[name] for name in sorted(extras)}


def collect_integrations(
    flavors: list[dict[str, Any]], skipped_flavors: list[dict[str, str]]
) -> dict[str, Any]:
    from zenml.integrations.registry import integration_registry

    skipped_names = {s["integration"]: s["error"] for s in skipped_flavors}
    entries = []
    for name in sorted(integration_registry.integrations):
        cls = integration_registry.integrations[name]
        declared = _declared_list(cls, "REQUIREMENTS")
        resolved = _resolved_requirements(
            cls, declared, lambda c: c.get_requirements(target_os=TARGET_OS)
        )
        uninstall = _resolved_requirements(
            cls, declared, lambda c: c.get_uninstall_requirements(target_os=TARGET_OS)
        )
        entry = {
            "name": name,
            "requirements": declared,
            "resolved_requirements": resolved,
            "uninstall_requirements": uninstall,
            "requirements_ignored_on_uninstall": list(
                cls.REQUIREMENTS_IGNORED_ON_UNINSTALL
            ),
            "apt_packages": list(cls.APT_PACKAGES),
            "flavors": [
                {"type": f["type"], "name": f["name"]}
                for f in flavors
                if f["integration"] == name
            ],
        }
        if name in skipped_names:
            entry["flavors_error"] = skipped_names[name]
        entries.append(entry)

    builtin = [
        {
            "type": f["type"],
            "name": f["name"],
            "requirements": [],
            "apt_packages": [],
        }
        for f in flavors
        if f["integration"] == BUILTIN_INTEGRATION
    ]
    base, extras = _zenml_requirements()
    return {
        "zenml_version": ZENML_VERSION,
        "target_os": TARGET_OS,
        "python_version": f"{sys.version_info.major}.{sys.version_info.minor}",
        "zenml_requirements": base,
        "zenml_extras": extras,
        "builtin_flavors": builtin,
        "integrations": entries,
    }


# ---------------------------------------------------------------------------
# Plugin flavors (event sources and actions)
# ---------------------------------------------------------------------------


def collect_plugin_flavors() -> list[dict[str, Any]]:
    """The registry's flavors in its listing order (type, subtype, insertion)."""
    from zenml.plugins.plugin_flavor_registry import PluginFlavorRegistry

    registry = PluginFlavorRegistry()
    entries = []
    for plugin_type, subtypes in registry.plugin_flavors.items():
        for subtype, flavors in subtypes.items():
            for name, entry in flavors.items():
                model = entry.flavor_class.get_flavor_response_model(hydrate=True)
                entries.append(model.model_dump(mode="json"))
    return entries


# ---------------------------------------------------------------------------
# Stack deployments
# ---------------------------------------------------------------------------


def collect_stack_deployments() -> dict[str, Any]:
    """Per provider: its info, deployment type and configuration templates."""
    import zenml.stack_deployments.aws_stack_deployment as aws_module
    from zenml.stack_deployments.utils import STACK_DEPLOYMENT_PROVIDERS

    pinned = aws_module.random_str
    aws_module.random_str = lambda length: RANDOM_PLACEHOLDER  # type: ignore[assignment]
    try:
        providers = {}
        for provider, cls in STACK_DEPLOYMENT_PROVIDERS.items():
            configs = {}
            for terraform in (False, True):
                for located in (True, False):
                    values = dict(DEPLOYMENT_PLACEHOLDERS)
                    if not located:
                        values["location"] = None
                    deployment = cls(terraform=terraform, **values)
                    key = f"{'terraform' if terraform else 'default'}/{'location' if located else 'no_location'}"
                    configs[key] = deployment.get_deployment_config().model_dump(mode="json")
            providers[provider.value] = {
                "deployment": cls.deployment,
                "info": cls.get_deployment_info().model_dump(mode="json"),
                "configs": configs,
            }
    finally:
        aws_module.random_str = pinned  # type: ignore[assignment]
    return providers


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


def _render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def build_documents() -> tuple[dict[str, str], dict[str, Any]]:
    """The three files' contents and a summary of what was found."""
    import zenml.stack.flavor as flavor_module

    # Pin the only network look-up the flavors make (see the module docstring).
    flavor_module.is_latest_zenml_version = lambda: ZENML_IS_LATEST  # type: ignore[attr-defined]

    from zenml.analytics.utils import analytics_disabler

    with analytics_disabler():
        flavors, skipped_flavors, notes = collect_flavors()
        connector_types, skipped_connectors = collect_connector_types()
        integrations = collect_integrations(flavors, skipped_flavors)
        plugin_flavors = collect_plugin_flavors()
        stack_deployments = collect_stack_deployments()

    documents = {
        FLAVORS_FILE: {
            "zenml_version": ZENML_VERSION,
            "skipped_integrations": skipped_flavors,
            "flavors": flavors,
        },
        CONNECTOR_TYPES_FILE: {
            "zenml_version": ZENML_VERSION,
            "skipped_modules": skipped_connectors,
            "connector_types": connector_types,
        },
        INTEGRATIONS_FILE: integrations,
        PLUGIN_FLAVORS_FILE: {
            "zenml_version": ZENML_VERSION,
            "plugin_flavors": plugin_flavors,
        },
        STACK_DEPLOYMENTS_FILE: {
            "zenml_version": ZENML_VERSION,
            "placeholders": {**DEPLOYMENT_PLACEHOLDERS, "random": RANDOM_PLACEHOLDER},
            "providers": stack_deployments,
        },
    }
    per_type: dict[str, int] = {}
    for f in flavors:
        per_type[f["type"]] = per_type.get(f["type"], 0) + 1
    summary = {
        "flavors": len(flavors),
        "flavors_per_type": dict(sorted(per_type.items())),
        "connector_types": [t["connector_type"] for t in connector_types],
        "integrations": len(integrations["integrations"]),
        "skipped_integrations": skipped_flavors,
        "skipped_connector_modules": skipped_connectors,
        "notes": notes,
        "plugin_flavors": [f"{f['type']}/{f['subtype']}/{f['name']}" for f in plugin_flavors],
        "stack_deployment_providers": list(stack_deployments),
    }
    return {name: _render(doc) for name, doc in documents.items()}, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument(
        "--check", action="store_true",
        help="compare with the files in --out instead of writing them",
    )
    parser.add_argument(
        "--only", nargs="+", metavar="FILE",
        help="write (or check) only these files, e.g. plugin_flavors.json",
    )
    parser.add_argument(
        "--allow-missing", action="store_true",
        help="write even if flavors or connector types could not be imported",
    )
    args = parser.parse_args(argv)

    config_dir = _isolate_environment()
    try:
        _require_zenml()
        files, summary = build_documents()
    finally:
        config_dir.cleanup()

    print(json.dumps(summary, indent=1), file=sys.stderr)
    if args.only:
        unknown = sorted(set(args.only) - set(files))
        if unknown:
            print(f"error: no such catalog file: {', '.join(unknown)}", file=sys.stderr)
            return 2
        files = {name: text for name, text in files.items() if name in args.only}
    missing = summary["skipped_integrations"] or summary["skipped_connector_modules"]
    if args.only and not ({FLAVORS_FILE, CONNECTOR_TYPES_FILE, INTEGRATIONS_FILE} & set(files)):
        missing = []  # what is missing concerns only the files not written
    if missing and not args.allow_missing:
        print(
            "error: some flavors or service connector types could not be imported "
            "(listed above), so the catalog would be incomplete. For the connector "
            f"types install the SDKs the server image ships:\n    {CONNECTOR_EXTRAS_HINT}\n"
            "or pass --allow-missing to write what this interpreter can import.",
            file=sys.stderr,
        )
        return 2

    if args.check:
        stale = [
            name for name, text in files.items()
            if not (args.out / name).exists()
            or (args.out / name).read_text(encoding="utf-8") != text
        ]
        if stale:
            print(f"out of date: {', '.join(stale)}", file=sys.stderr)
            return 1
        print("catalogs are up to date", file=sys.stderr)
        return 0

    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        target = args.out / name
        tmp = target.with_name(f".{name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)
        print(f"wrote {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
