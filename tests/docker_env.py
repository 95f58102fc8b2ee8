"""The real Docker engine, real registries and the test base image.

Used by the `docker`-marked tests (fixtures in `tests/test_docker_runs.py`)
and runnable by hand: `python -m tests.docker_env` starts what is missing,
builds the base image and prints how to reach them.

* `DockerEngine.ensure()`: an engine that already answers ($DOCKER_HOST, the
  cache's socket, /var/run/docker.sock) is used as is; otherwise `dockerd
  --bridge=none --iptables=false` is started with its data-root under
  `.cache/docker/data`, so the images it holds (the base image above all)
  persist across runs. `stop()` ends only a dockerd this object started, by
  its pid.
* `Registry`: Debian's `docker-registry` (distribution) on a loopback port,
  storage in a temporary directory; `read_only=True` makes one that refuses
  every push.
* `base_image(client)`: a Debian bookworm root from `debootstrap` (the mirror
  apt uses, python3-venv included), the machine's CA bundle copied in,
  `docker import`ed, then `zenml==0.66.0` installed into a venv by a build on
  the host network. Tagged by a hash of the recipe, so it is built once.
  Nothing is pulled from Docker Hub.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import socket
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Iterator

from tests.support import LocalRegistry, file_lock, stop_process

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "docker"
ZENML_VERSION = "0.66.0"
SUITE = "bookworm"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
BASE_REPOSITORY = "zenyard-test-base"
DEBIAN_REPOSITORY = "zenyard-test-debian"
ENGINE_START_TIMEOUT = 60

BASE_DOCKERFILE = f"""\
FROM {{debian}}
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt \\
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \\
    REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt \\
    PIP_DISABLE_PIP_VERSION_CHECK=1 \\
    PIP_DEFAULT_TIMEOUT=180
RUN python3 -m venv /opt/zenml && /opt/zenml/bin/pip install --no-cache-dir 'zenml=={ZENML_VERSION}'
ENV PATH=/opt/zenml/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    VIRTUAL_ENV=/opt/zenml \\
    ZENML_ANALYTICS_OPT_IN=false \\
    ZENML_LOGGING_VERBOSITY=INFO
"""


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _run_dir() -> Path:
    """Where the socket, pidfile and exec-root go: the cache, unless its path
    is too long for a unix socket (a CI clone in a deep folder)."""
    if len(str(CACHE)) < 60:
        return CACHE
    return Path(tempfile.gettempdir()) / ("zenyard-docker-" + hashlib.sha1(str(CACHE).encode()).hexdigest()[:8])


def engine_answers(base_url: str) -> bool:
    import docker

    try:
        client = docker.APIClient(base_url=base_url, timeout=5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # noqa: BLE001 - any failure means "not this one"
        return False


class DockerEngine:
    """A Docker engine to talk to; started here only when none answers."""

    def __init__(self) -> None:
        run = _run_dir()
        self.socket = run / "docker.sock"
        self.pidfile = run / "dockerd.pid"
        self.exec_root = run / "exec"
        self.data_root = CACHE / "data"
        self.log_path = CACHE / "dockerd.log"
        self.base_url = ""
        self.process: subprocess.Popen | None = None

    def candidates(self) -> list[str]:
        found = [os.environ.get("DOCKER_HOST", ""), f"unix://{self.socket}", "unix:///var/run/docker.sock"]
        return [c for c in found if c]

    def ensure(self) -> "DockerEngine":
        for candidate in self.candidates():
            if engine_answers(candidate):
                self.base_url = candidate
                return self
        if not shutil.which("dockerd"):
            raise RuntimeError("dockerd is not installed: run scripts/test-deps.sh")
        with file_lock(CACHE / "dockerd.lock"):
            if engine_answers(f"unix://{self.socket}"):  # another session started it meanwhile
                self.base_url = f"unix://{self.socket}"
                return self
            if self._clear_stale_pid():
                self.base_url = f"unix://{self.socket}"
                return self
            for path in (self.data_root, self.exec_root):
                path.mkdir(parents=True, exist_ok=True)
            log = open(self.log_path, "a")
            self.process = subprocess.Popen(
                ["dockerd", "--bridge=none", "--iptables=false", "--ip6tables=false",
                 "--data-root", str(self.data_root), "--exec-root", str(self.exec_root),
                 "--pidfile", str(self.pidfile), "--host", f"unix://{self.socket}", "--log-level", "warn"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )
            log.close()
            deadline = time.monotonic() + ENGINE_START_TIMEOUT
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"dockerd exited with {self.process.returncode}:\n{self._log_tail()}")
                if engine_answers(f"unix://{self.socket}"):
                    self.base_url = f"unix://{self.socket}"
                    return self
                time.sleep(0.3)
            self.stop()
            raise RuntimeError(f"dockerd did not answer in {ENGINE_START_TIMEOUT}s:\n{self._log_tail()}")

    def _clear_stale_pid(self) -> bool:
        """Deal with a pidfile: True when its dockerd (starting) now answers;
        a dockerd that is stopping is waited for; a dead one's file removed."""
        deadline = time.monotonic() + ENGINE_START_TIMEOUT
        while True:
            try:
                pid = int(self.pidfile.read_text().strip())
            except (OSError, ValueError):
                return False
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                self.pidfile.unlink(missing_ok=True)
                return False
            if engine_answers(f"unix://{self.socket}"):
                return True
            if time.monotonic() > deadline:
                raise RuntimeError(f"a dockerd (pid {pid}) holds {self.pidfile} but does not answer on {self.socket}")
            time.sleep(0.5)

    def _log_tail(self) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:])

    def client(self):
        import docker

        return docker.APIClient(base_url=self.base_url, timeout=600)

    def stop(self) -> None:
        """Stop the dockerd this object started (SIGTERM by pid, then SIGKILL)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        stop_process(process, timeout=30)
        # dockerd leaves its network namespace mounted under the exec-root
        namespace = self.exec_root / "netns" / "default"
        if os.path.ismount(namespace):
            subprocess.run(["umount", str(namespace)], check=False)


class Registry(LocalRegistry):
    """The runner-image registry: 127.0.0.1:5000 when free, else any port;
    a registry already serving on that port is used as it is."""

    def __init__(self, work_dir: Path, read_only: bool = False, port: int | None = None) -> None:
        port = port or (5000 if not read_only and not port_open(5000) else None)
        super().__init__(work_dir, read_only=read_only, port=port)

    def answers(self) -> bool:
        return self.status() in (200, 401)

    def ensure(self) -> "Registry":
        return self if self.answers() else self.start()


# --- the base image ----------------------------------------------------------


def debian_mirror() -> str:
    """The Debian mirror apt uses on this machine (deb822 or one-line sources)."""
    paths = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for path in paths:
        if not path.is_file() or "disabled" in path.name:
            continue
        text = path.read_text(errors="replace")
        for match in re.finditer(r"^URIs:\s*(\S+)", text, re.M):
            if match.group(1).rstrip("/").endswith("/debian"):
                return match.group(1)
        for match in re.finditer(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", text, re.M):
            if match.group(1).rstrip("/").endswith("/debian"):
                return match.group(1)
    return "http://deb.debian.org/debian"


def recipe_hash() -> str:
    digest = hashlib.sha256()
    for part in (SUITE, debian_mirror(), BASE_DOCKERFILE, CA_BUNDLE.read_bytes().hex()):
        digest.update(str(part).encode())
    return digest.hexdigest()[:16]


def image_exists(client, reference: str) -> bool:
    import docker.errors

    try:
        client.inspect_image(reference)
        return True
    except docker.errors.ImageNotFound:
        return False


def build_lines(stream) -> Iterator[str]:
    """The text of a build stream; raises on its error entries."""
    for chunk in stream:
        if "error" in chunk:
            raise RuntimeError(chunk.get("error") or chunk)
        if chunk.get("stream"):
            yield chunk["stream"]


def _debian_image(client, tag: str, log) -> str:
    reference = f"{DEBIAN_REPOSITORY}:{tag}"
    if image_exists(client, reference):
        return reference
    work = CACHE / f"rootfs-{tag}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    rootfs = work / "rootfs"
    subprocess.run(
        ["debootstrap", "--variant=minbase", "--include=python3-venv,ca-certificates", SUITE, str(rootfs),
         debian_mirror()],
        check=True, stdout=log, stderr=subprocess.STDOUT, timeout=900,
    )
    shutil.copyfile(CA_BUNDLE, rootfs / "etc/ssl/certs/ca-certificates.crt")
    for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for entry in (rootfs / cache).glob("*"):
            if entry.is_file():
                entry.unlink()
    archive = work / "rootfs.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(str(rootfs), arcname=".")
    client.import_image(src=str(archive), repository=DEBIAN_REPOSITORY, tag=tag)
    shutil.rmtree(work, ignore_errors=True)
    return reference


def base_image(client, log_path: Path | None = None) -> str:
    """The tag of the test base image (Debian, CA bundle, zenml venv); built
    once per recipe and kept in the engine's cache."""
    tag = recipe_hash()
    reference = f"{BASE_REPOSITORY}:{tag}"
    if image_exists(client, reference):
        return reference
    log_path = log_path or CACHE / "base-image.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(CACHE / "base-image.lock"):
        if image_exists(client, reference):
            return reference
        with open(log_path, "a") as log:
            debian = _debian_image(client, tag, log)
            dockerfile = BASE_DOCKERFILE.format(debian=debian)
            context = io.BytesIO()
            with tarfile.open(fileobj=context, mode="w") as tar:
                data = dockerfile.encode()
                info = tarfile.TarInfo("Dockerfile")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            context.seek(0)
            stream = client.build(
                fileobj=context, custom_context=True, tag=reference, rm=True, forcerm=True,
                network_mode="host", decode=True, labels={"zenyard.test": "base"},
            )
            for line in build_lines(stream):
                log.write(line)
                log.flush()
    return reference


def main() -> None:  # pragma: no cover - a helper for developers
    engine = DockerEngine().ensure()
    started = time.monotonic()
    reference = base_image(engine.client())
    print(f"engine: {engine.base_url} (started here: {engine.process is not None})")
    print(f"base image: {reference} ({time.monotonic() - started:.0f}s)")
    if engine.process is not None:
        print(f"dockerd pid {engine.process.pid} left running; stop it with: kill {engine.process.pid}")


if __name__ == "__main__":  # pragma: no cover
    main()
