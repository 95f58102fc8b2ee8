"""Runner images: requirements, Dockerfile, hash, registry check, build, push.

The Dockerfile is ZenML Pro's (`generate_dockerfile`): the parent image, the
stack's APT packages, the stack's PyPI requirements. Zenyard's parent is the
template build's image when it has one (it holds the pipeline's code), else
the configured template (`zenmldocker/zenml:{zenml_version}-py{python_version}`);
a parent found in a registry is pinned by digest, so a re-pushed tag makes a
new runner image. The image is named by the Dockerfile's md5, as in ZenML.
Registry credentials go only into the Docker API calls that need them.
"""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
import time
from typing import Any, Callable, Iterable

from store import catalog
from store.runner_registry import RegistryLogin

RUNNER_LABEL = "zenyard.runner"
WORKLOAD_LABEL = "zenyard.workload"

_TRANSIENT = re.compile(
    r"connection refused|connection reset|i/o timeout|timeout|timed out|tls handshake|temporary failure|"
    r"no such host|toomanyrequests|too many requests|503|502|504|service unavailable|bad gateway|eof",
    re.I,
)


class BuildFailed(Exception):
    """The image could not be built (final)."""


class PushFailed(Exception):
    """The registry did not take the image (final)."""


class TransientError(Exception):
    """A registry or engine hiccup worth another attempt."""


class Cancelled(Exception):
    """The run's cancellation was asked for."""


def is_transient(message: str) -> bool:
    return bool(_TRANSIENT.search(message or ""))


def stack_requirements(components: Iterable[dict]) -> tuple[list[str], list[str]]:
    """(PyPI requirements, APT packages) of the stack's flavors' integrations."""
    pypi: set[str] = set()
    apt: set[str] = set()
    for component in components:
        try:
            found = catalog.flavor_requirements(component["type"], component["flavor"])
        except KeyError:  # not a catalog flavor: nothing known to install
            continue
        pypi.update(found["requirements"])
        apt.update(found["apt_packages"])
    return sorted(pypi), sorted(apt)


def python_version(build: dict | None) -> str:
    raw = (build or {}).get("python_version") or ""
    parts = raw.split(".")
    if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
        return f"{parts[0]}.{parts[1]}"
    return "3.11"


def build_image(build: dict | None) -> str | None:
    """The image of the template's build: its orchestrator image, else the first."""
    images = (build or {}).get("images") or {}
    for key in ("orchestrator", *sorted(images)):
        item = images.get(key)
        if isinstance(item, dict) and item.get("image"):
            return item["image"]
    return None


def parent_image(build: dict | None, template: str) -> str:
    found = build_image(build)
    if found:
        return found
    version = (build or {}).get("zenml_version") or catalog.ZENML_VERSION
    return template.format(zenml_version=version, python_version=python_version(build))


def dockerfile(parent: str, pypi: list[str], apt: list[str], extra: list[str] = ()) -> str:
    lines = [f"FROM {parent}", f"LABEL {RUNNER_LABEL}=true"]
    if apt:
        packages = " ".join(f"'{p}'" for p in apt)
        lines.append(f"RUN apt-get update && apt-get install -y --no-install-recommends {packages}")
    if pypi:
        requirements = " ".join(f"'{r}'" for r in pypi)
        lines.append(f"RUN pip install --default-timeout=60 --no-cache-dir {requirements}")
    lines.extend(extra)
    return "\n".join(lines)


def image_hash(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - a name, as ZenML's


def image_name(registry: str, repository: str, digest: str) -> str:
    registry = registry.strip().rstrip("/")
    return f"{registry}/{repository}:{digest}" if registry else f"{repository}:{digest}"


def split_name(image: str) -> tuple[str, str]:
    """("repo", "tag") of "host:port/repo:tag"."""
    slash = image.rfind("/")
    colon = image.rfind(":")
    if colon > slash:
        return image[:colon], image[colon + 1:]
    return image, "latest"


def registry_host(image: str) -> str | None:
    first = image.split("/", 1)[0]
    if "/" in image and ("." in first or ":" in first or first == "localhost"):
        return first
    return None


class ImageBuilder:
    """Build and push runner images through the Docker API, logging as it goes."""

    def __init__(self, client, settings: dict, write: Callable[[str], Any], should_stop: Callable[[], bool],
                 login: RegistryLogin | None = None):
        self.client = client
        self.settings = settings
        self.write = write
        self.should_stop = should_stop
        self.login = login

    @property
    def registry(self) -> str:
        """The runner registry: the settings', else the login's (a connector's)."""
        return self.settings["RUNNER_REGISTRY"] or (self.login.registry if self.login else "")

    # --- credentials: only in the calls that talk to our registry ------------

    def auth_for(self, image: str) -> dict | None:
        ours = registry_host(image_name(self.registry, "x", "y"))
        if self.login and ours and registry_host(image) == ours:
            return self.login.auth_config()
        return None

    def digest_in_registry(self, image: str) -> str | None:
        """The manifest digest of `image` in its registry, None when absent."""
        import docker.errors
        import requests

        if registry_host(image) is None and not self.registry:
            return None
        try:
            found = self.client.inspect_distribution(image, auth_config=self.auth_for(image))
        except docker.errors.APIError as err:
            message = str(err.explanation or err)
            if "manifest unknown" in message.lower() or "not found" in message.lower() or err.status_code == 404:
                return None
            if is_transient(message):
                raise TransientError(f"registry check of {image}: {message}") from err
            return None
        except requests.RequestException as err:
            raise TransientError(f"registry check of {image}: {err}") from err
        return (found.get("Descriptor") or {}).get("digest")

    def has_local(self, image: str) -> bool:
        import docker.errors

        try:
            self.client.inspect_image(image)
            return True
        except docker.errors.ImageNotFound:
            return False

    def pinned_parent(self, parent: str) -> str:
        """`parent@sha256:...` when its registry knows it, else `parent`."""
        if "@" in parent or registry_host(parent) is None:
            return parent
        try:
            digest = self.digest_in_registry(parent)
        except TransientError:
            digest = None
        if not digest:
            return parent
        repository, _ = split_name(parent)
        return f"{repository}@{digest}"

    # --- build ---------------------------------------------------------------

    def pull(self, image: str) -> None:
        import docker.errors

        self.write(f"Pulling {image}")
        try:
            if "@" in image:
                stream = self.client.pull(image, stream=True, decode=True, auth_config=self.auth_for(image))
            else:
                repository, tag = split_name(image)
                stream = self.client.pull(repository, tag=tag, stream=True, decode=True, auth_config=self.auth_for(image))
            for chunk in stream:
                if "error" in chunk:
                    raise BuildFailed(f"pull of {image} failed: {chunk['error']}")
        except docker.errors.APIError as err:
            raise BuildFailed(f"pull of {image} failed: {err.explanation or err}") from err

    def build(self, image: str, text: str, labels: dict[str, str]) -> None:
        """Build `image` from the Dockerfile `text`; every output line is logged."""
        import docker.errors
        import requests

        context = io.BytesIO()
        with tarfile.open(fileobj=context, mode="w") as tar:
            data = text.encode()
            info = tarfile.TarInfo("Dockerfile")
            info.size = len(data)
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(data))
        context.seek(0)
        deadline = time.monotonic() + self.settings["RUNNER_BUILD_TIMEOUT"]
        try:
            stream = self.client.build(
                fileobj=context, custom_context=True, tag=image, rm=True, forcerm=True, decode=True,
                network_mode=self.settings["RUNNER_NETWORK_MODE"], labels=labels,
                timeout=self.settings["RUNNER_BUILD_TIMEOUT"],
            )
            for chunk in stream:
                if "error" in chunk:
                    message = chunk.get("error") or str(chunk.get("errorDetail"))
                    self.write(message)
                    raise BuildFailed(f"build of {image} failed: {message.strip()}")
                text_out = chunk.get("stream") or chunk.get("status")
                if text_out:
                    for line in text_out.rstrip("\n").splitlines():
                        self.write(line)
                if self.should_stop():
                    raise Cancelled("cancelled during the build")
                if time.monotonic() > deadline:
                    raise BuildFailed(f"build of {image} exceeded {self.settings['RUNNER_BUILD_TIMEOUT']}s")
        except docker.errors.APIError as err:
            message = str(err.explanation or err)
            self.write(message)
            raise BuildFailed(f"build of {image} failed: {message}") from err
        except requests.RequestException as err:
            raise TransientError(f"build of {image}: {err}") from err
        if not self.has_local(image):
            raise BuildFailed(f"build of {image} ended without an image")

    def push(self, image: str) -> str:
        """Push `image`; the stream is read to its end and any error fails it.
        Returns the pushed digest."""
        import docker.errors
        import requests

        repository, tag = split_name(image)
        digest = None
        deadline = time.monotonic() + self.settings["RUNNER_PUSH_TIMEOUT"]
        try:
            for chunk in self.client.push(repository, tag=tag, stream=True, decode=True, auth_config=self.auth_for(image)):
                if "error" in chunk:
                    message = chunk.get("error") or str(chunk.get("errorDetail"))
                    self.write(f"push error: {message}")
                    if is_transient(message):
                        raise TransientError(f"push of {image}: {message}")
                    raise PushFailed(f"push of {image} failed: {message}")
                digest = (chunk.get("aux") or {}).get("Digest") or digest
                if chunk.get("status") and chunk.get("id") is None:
                    self.write(chunk["status"])
                if time.monotonic() > deadline:
                    raise TransientError(f"push of {image} exceeded {self.settings['RUNNER_PUSH_TIMEOUT']}s")
        except docker.errors.APIError as err:
            message = str(err.explanation or err)
            if is_transient(message):
                raise TransientError(f"push of {image}: {message}") from err
            raise PushFailed(f"push of {image} failed: {message}") from err
        except requests.RequestException as err:
            raise TransientError(f"push of {image}: {err}") from err
        if not digest:
            raise PushFailed(f"push of {image} ended without a digest")
        return digest

    def prune_intermediates(self) -> None:
        """Dangling layers a failed build left (they carry the runner label)."""
        try:
            self.client.prune_images(filters={"dangling": True, "label": f"{RUNNER_LABEL}=true"})
        except Exception:  # noqa: BLE001 - cleanup is best effort
            pass
