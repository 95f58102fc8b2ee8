"""The Docker workload manager: one template run, from claim to container exit.

`RunTemplateRunner.run(workload_id, worker)` is the plain function behind the
`zenyard.run_template` task. It claims the workload (a conditional update),
makes sure the runner image exists (registry check, else build and push),
starts ZenML's runner entrypoint in a container with the run's environment,
streams the container's output into the workload log and records the end.
No database session is held across Docker calls; a heartbeat thread keeps
the claim alive and notices cancellation.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import Any, Callable

from store import workloads as store
from store.crypto import Keyring, keyring_from_settings
from store.runner_registry import RegistryLoginError, runner_registry_login
from worker.images import (
    RUNNER_LABEL, WORKLOAD_LABEL, BuildFailed, Cancelled, ImageBuilder, PushFailed, TransientError,
    dockerfile, image_hash, image_name, parent_image, stack_requirements,
)

log = logging.getLogger("zenyard.template_runs")

RUNNER_COMMAND = ["python", "-m", "zenml.entrypoints.entrypoint"]
RUNNER_ENTRYPOINT_CONFIG = "zenml.zen_server.template_execution.runner_entrypoint_configuration.RunnerEntrypointConfiguration"
STOP_GRACE_SECONDS = 3


def docker_client(settings: dict):
    """A low-level client of the workers' engine (ZENYARD_DOCKER_HOST, else DOCKER_HOST)."""
    import docker

    timeout = max(settings["RUNNER_BUILD_TIMEOUT"], settings["RUNNER_PUSH_TIMEOUT"], 60)
    if settings.get("DOCKER_HOST"):
        return docker.APIClient(base_url=settings["DOCKER_HOST"], timeout=timeout)
    return docker.APIClient(timeout=timeout, **docker.utils.kwargs_from_env())


class Heartbeat(threading.Thread):
    """Beats for the attempt; notes a cancellation or a lost claim."""

    def __init__(self, db, workload_id, attempt: int, interval: float):
        super().__init__(daemon=True, name=f"heartbeat-{workload_id}")
        self.db, self.workload_id, self.attempt, self.interval = db, workload_id, attempt, interval
        self.cancelled = threading.Event()
        self.lost = threading.Event()
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.interval):
            self.check()

    def check(self) -> bool:
        """Beat now; True when the attempt should stop."""
        try:
            mine, cancel = store.beat(self.db, self.workload_id, self.attempt)
        except Exception:  # noqa: BLE001 - a missed beat is not fatal; the next one may pass
            log.warning("workload=%s heartbeat failed", self.workload_id, exc_info=True)
            return self.should_stop()
        if cancel:
            self.cancelled.set()
        if not mine:
            self.lost.set()
        return self.should_stop()

    def should_stop(self) -> bool:
        return self.cancelled.is_set() or self.lost.is_set()

    def stop(self) -> None:
        self.done.set()


class RunnerFailed(Exception):
    """The runner container failed (non-zero exit, deadline, out of memory)."""


class DockerWorkloadManager:
    """Containers of template runs: start, stream, wait, stop, remove."""

    def __init__(self, client, settings: dict, write: Callable[[str], Any]):
        self.client = client
        self.settings = settings
        self.write = write

    def remove_leftovers(self, workload_id: str) -> int:
        """Remove containers an earlier attempt of the workload left behind."""
        found = self.client.containers(all=True, filters={"label": f"{WORKLOAD_LABEL}={workload_id}"})
        for container in found:
            self.remove(container["Id"])
        return len(found)

    def remove(self, container_id: str | None) -> None:
        import docker.errors

        if not container_id:
            return
        try:
            self.client.remove_container(container_id, force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as err:
            log.warning("container=%s removal failed: %s", container_id, err)

    def mounts(self, job: dict) -> list[str]:
        binds = list(self.settings["RUNNER_VOLUMES"])
        if self.settings["TEMPLATES_ALLOW_LOCAL_COMPONENTS"]:
            # single host: the local artifact store is the same folder inside
            for component in job["components"]:
                if component["type"] == "artifact_store" and component["flavor"] == "local":
                    path = (component["configuration"] or {}).get("path")
                    if path:
                        binds.append(f"{path}:{path}:rw")
        return binds

    def start(self, job: dict, image: str, environment: dict[str, str]) -> str:
        host_config = self.client.create_host_config(
            network_mode=self.settings["RUNNER_NETWORK_MODE"],
            binds=self.mounts(job) or None,
            mem_limit=self.settings["RUNNER_MEMORY_LIMIT"] or None,
            pids_limit=self.settings["RUNNER_PIDS_LIMIT"] or None,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
        )
        command = RUNNER_COMMAND + [
            "--entrypoint_config_source", RUNNER_ENTRYPOINT_CONFIG, "--deployment_id", job["deployment_id"],
        ]
        container = self.client.create_container(
            image, command=command, environment=environment, host_config=host_config,
            labels={WORKLOAD_LABEL: job["workload_id"], RUNNER_LABEL: "true", "zenyard.run": job["run_id"] or ""},
            name=f"zenyard-run-{job['workload_id'][:8]}-{job['attempt']}",
        )
        self.client.start(container["Id"])
        return container["Id"]

    def stream(self, container_id: str) -> threading.Thread:
        """Copy the container's output into the log, line by line, in a thread."""

        def copy() -> None:
            pending = b""
            # its own client: a requests session is not shared between threads
            client = docker_client(self.settings)
            try:
                for chunk in client.logs(container_id, stream=True, follow=True, stdout=True, stderr=True):
                    pending += chunk
                    *lines, pending = pending.split(b"\n")
                    for line in lines:
                        self.write(line.decode("utf-8", errors="replace").rstrip("\r"))
            except Exception as err:  # noqa: BLE001 - the container went away under us
                log.debug("container=%s log stream ended: %s", container_id, err)
            finally:
                client.close()
            if pending:
                self.write(pending.decode("utf-8", errors="replace"))

        thread = threading.Thread(target=copy, daemon=True, name=f"logs-{container_id[:12]}")
        thread.start()
        return thread

    def wait(self, container_id: str, should_stop: Callable[[], bool], timeout: float) -> int:
        """The container's exit code; stops it when `should_stop()` or at the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.client.inspect_container(container_id)["State"]
            if not state.get("Running") and state.get("Status") != "created":
                if state.get("OOMKilled"):
                    raise RunnerFailed(f"the runner ran out of memory ({self.settings['RUNNER_MEMORY_LIMIT']})")
                return int(state.get("ExitCode", -1))
            if should_stop():
                self.client.stop(container_id, timeout=STOP_GRACE_SECONDS)
                raise Cancelled("cancelled while running")
            if time.monotonic() > deadline:
                self.client.stop(container_id, timeout=STOP_GRACE_SECONDS)
                raise RunnerFailed(f"the runner exceeded its deadline of {timeout:.0f}s")
            time.sleep(0.5)


class RunTemplateRunner:
    """Claim, image, container, end: one attempt at one workload."""

    def __init__(self, db, settings: dict, client_factory: Callable[[dict], Any] = docker_client,
                 token_factory: Callable[[dict, dict], str] | None = None, keyring: Keyring | None = None):
        self.db = db
        self.settings = settings
        self.client_factory = client_factory
        self.token_factory = token_factory or api_token
        self.keyring = keyring or keyring_from_settings(settings)

    @classmethod
    def from_app(cls, app) -> "RunTemplateRunner":
        zenyard = app.extensions["zenyard"]
        return cls(zenyard["db"], zenyard["settings"], keyring=zenyard["keyring"])

    def run(self, workload_id: str, worker: str) -> str | None:
        """Run the workload if it can be claimed; returns its final state, or
        None when it was not ours to run (raises TransientError after a requeue)."""
        stale = timedelta(seconds=self.settings["WORKLOAD_STALE_SECONDS"])
        job = store.claim(self.db, workload_id, worker, stale)
        if job is None:
            log.info("workload=%s claim=refused worker=%s", workload_id, worker)
            return None
        attempt = job["attempt"]
        logs = store.LogWriter(self.db, workload_id).start_flusher()
        heartbeat = Heartbeat(self.db, workload_id, attempt, self.settings["WORKLOAD_HEARTBEAT_SECONDS"])
        heartbeat.start()
        log.info("workload=%s state=building attempt=%s worker=%s", workload_id, attempt, worker)
        logs.write(f"Zenyard: template run attempt {attempt} on worker {worker}.")
        client = None
        container_id = None
        state, error = "failed", None
        try:
            client = self.client_factory(self.settings)
            manager = DockerWorkloadManager(client, self.settings, logs.write)
            if manager.remove_leftovers(job["workload_id"]):
                logs.write("Zenyard: removed the container of an earlier attempt.")
            image = self.image(job, client, logs, heartbeat)
            store.advance(self.db, workload_id, attempt, "starting", image=image)
            logs.write(f"Zenyard: starting the runner container from {image}.")
            container_id = manager.start(job, image, self.environment(job))
            store.advance(self.db, workload_id, attempt, "running", container_id=container_id)
            log.info("workload=%s state=running container=%s", workload_id, container_id[:12])
            streaming = manager.stream(container_id)

            polled = [0.0]

            def should_stop() -> bool:
                # a cancellation must stop the container within seconds: ask the
                # database every second, not only at each heartbeat
                if time.monotonic() - polled[0] >= 1.0:
                    polled[0] = time.monotonic()
                    return heartbeat.check()
                return heartbeat.should_stop()

            code = manager.wait(container_id, should_stop, self.settings["RUNNER_RUN_TIMEOUT"])
            streaming.join(timeout=10)
            if code == 0:
                state = "completed"
                logs.write("Zenyard: the runner container exited successfully.")
            else:
                error = f"the runner container exited with code {code}"
        except Cancelled as err:
            if heartbeat.lost.is_set() and not heartbeat.cancelled.is_set():
                logs.write("Zenyard: this attempt lost its claim; another worker runs the workload.")
                return None
            state, error = "cancelled", str(err)
        except store.WorkloadGone:
            logs.write("Zenyard: this attempt lost its claim; another worker runs the workload.")
            return None
        except TransientError as err:
            logs.write(f"Zenyard: transient error, will retry: {err}")
            requeued = store.requeue(self.db, workload_id, attempt, str(err), self.settings["WORKLOAD_MAX_ATTEMPTS"])
            if requeued == "queued":
                raise
            return requeued
        except (BuildFailed, PushFailed, RunnerFailed, RegistryLoginError) as err:
            error = str(err)
        except BaseException as err:  # noqa: BLE001 - soft time limit, engine errors: the run fails with the reason
            error = f"{type(err).__name__}: {err}"
            self._finish(workload_id, attempt, "failed", error, logs)
            raise
        finally:
            heartbeat.stop()
            if client is not None and container_id:
                DockerWorkloadManager(client, self.settings, logs.write).remove(container_id)
            if client is not None:
                if state == "failed":
                    ImageBuilder(client, self.settings, logs.write, lambda: False).prune_intermediates()
                client.close()
            logs.close()  # ends the flusher; `_finish` below still writes and flushes
        self._finish(workload_id, attempt, state, error, logs)
        return state

    def _finish(self, workload_id, attempt: int, state: str, error: str | None, logs) -> None:
        if error:
            logs.write(f"Zenyard: template run {state}: {error}")
        logs.flush()
        try:
            store.advance(self.db, workload_id, attempt, state, error=error)
        except store.WorkloadGone:
            return
        log.info("workload=%s state=%s error=%s", workload_id, state, error)

    def image(self, job: dict, client, logs, heartbeat: Heartbeat) -> str:
        """The runner image: found in the registry (no build), or built and pushed."""
        login = runner_registry_login(self.db, self.keyring, self.settings)
        builder = ImageBuilder(client, self.settings, logs.write, heartbeat.should_stop, login)
        if login is not None:
            logs.write(f"Zenyard: the registry {builder.registry} is logged in to with the {login.source}.")
        pypi, apt = stack_requirements(job["components"])
        parent = builder.pinned_parent(parent_image(job["build"], self.settings["RUNNER_PARENT_IMAGE"]))
        text = dockerfile(parent, pypi, apt, self.settings["RUNNER_DOCKERFILE_EXTRA"])
        digest = image_hash(text)
        image = image_name(builder.registry, self.settings["RUNNER_IMAGE_REPOSITORY"], digest)
        store.record(self.db, job["workload_id"], job["attempt"], image=image, image_hash=digest)
        remote = bool(builder.registry)
        if remote and builder.digest_in_registry(image):
            logs.write(f"Zenyard: image {image} is in the registry; no build.")
            if not builder.has_local(image):
                builder.pull(image)
            return image
        if not remote and builder.has_local(image):
            logs.write(f"Zenyard: image {image} is on this engine; no build.")
            return image
        logs.write(f"Zenyard: building {image}:")
        for line in text.splitlines():
            logs.write(f"  {line}")
        builder.build(image, text, {WORKLOAD_LABEL: job["workload_id"]})
        if remote:
            store.advance(self.db, job["workload_id"], job["attempt"], "pushing")
            logs.write(f"Zenyard: pushing {image}.")
            pushed = builder.push(image)
            logs.write(f"Zenyard: pushed {image} ({pushed}).")
        return image

    def environment(self, job: dict) -> dict[str, str]:
        """What ZenML's runner needs: this server, a token for the run's user, the stack and workspace."""
        if not job["user_id"]:
            raise RunnerFailed("the user who started the run no longer exists")
        build = job["build"] or {}
        return {
            "ZENML_ACTIVE_WORKSPACE_ID": job["workspace_id"],
            "ZENML_ACTIVE_STACK_ID": job["stack_id"] or "",
            "ZENML_VERSION": build.get("zenml_version") or "",
            "ZENML_STORE_URL": self.settings["SERVER_URL"],
            "ZENML_STORE_TYPE": "rest",
            "ZENML_STORE_API_TOKEN": self.token_factory(job, self.settings),
            "ZENML_STORE_VERIFY_SSL": "True",
            "ZENML_LOGGING_COLORS_DISABLED": "true",  # the log is read as text
            "PYTHONUNBUFFERED": "1",  # lines reach the log as they are printed
        }


def api_token(job: dict, settings: dict) -> str:
    """A token for the run's user that outlives the run (needs the Flask app context)."""
    from blueprints.auth import issue_token

    token, _ = issue_token(job["user_id"], minutes=settings["RUNNER_TOKEN_MINUTES"], pipeline_id=job["pipeline_id"])
    return token

