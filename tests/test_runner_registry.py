"""The runner registry's login: from a docker service connector, a secret or
the settings, read from the real store (encrypted secrets included). The
push with such a login is in tests/test_docker_runs.py."""

from __future__ import annotations

import pytest

from store.runner_registry import RegistryLoginError, runner_registry_login
from tests.test_connectors import docker_request, register
from tests.test_secrets import create as create_secret
from worker.images import ImageBuilder

REGISTRY = "127.0.0.1:5999"


def login_for(app, **settings):
    zenyard = app.extensions["zenyard"]
    merged = {**zenyard["settings"], "RUNNER_REGISTRY": "", "RUNNER_REGISTRY_USERNAME": "",
              "RUNNER_REGISTRY_PASSWORD": "", "RUNNER_REGISTRY_CONNECTOR": "", "RUNNER_REGISTRY_SECRET": "",
              **settings}
    return runner_registry_login(zenyard["db"], zenyard["keyring"], merged), merged


def test_no_login_configured(app):
    assert login_for(app, RUNNER_REGISTRY=REGISTRY)[0] is None


def test_login_from_the_settings(app):
    login, _ = login_for(app, RUNNER_REGISTRY=REGISTRY, RUNNER_REGISTRY_USERNAME="u", RUNNER_REGISTRY_PASSWORD="p")
    assert (login.registry, login.username, login.password, login.source) == (REGISTRY, "u", "p", "settings")
    assert "p" not in repr(login)


def test_login_from_a_secret_by_name_and_by_id(client, app):
    secret = create_secret(client, "registry-login", {"username": "ci", "password": "s3cret-Pw"})
    for reference in ("registry-login", secret["id"]):
        login, _ = login_for(app, RUNNER_REGISTRY=REGISTRY, RUNNER_REGISTRY_SECRET=reference)
        assert (login.registry, login.username, login.password) == (REGISTRY, "ci", "s3cret-Pw")
        assert login.source == "secret 'registry-login'" and "s3cret" not in repr(login)
    # a rotated password applies to the next run: the login is read each time
    client.put(f"/api/v1/secrets/{secret['id']}", json={"values": {"username": "ci", "password": "rotated"}})
    assert login_for(app, RUNNER_REGISTRY_SECRET="registry-login")[0].password == "rotated"


def test_login_from_a_docker_connector_gives_its_registry_too(client, app):
    connector = register(client, docker_request(client, "runner-registry", REGISTRY, password="conn-Pw"))
    login, settings = login_for(app, RUNNER_REGISTRY_CONNECTOR="runner-registry")
    assert (login.registry, login.username, login.password) == (REGISTRY, "zenyard", "conn-Pw")
    assert login.source == "service connector 'runner-registry'"
    # the configured registry wins over the connector's
    assert login_for(app, RUNNER_REGISTRY="127.0.0.1:5001", RUNNER_REGISTRY_CONNECTOR=connector["id"])[0].registry \
        == "127.0.0.1:5001"

    builder = ImageBuilder(None, settings, print, lambda: False, login)
    assert builder.registry == REGISTRY
    assert builder.auth_for(f"{REGISTRY}/zenml-runner:abc") == {"username": "zenyard", "password": "conn-Pw"}
    # never sent to another registry (the parent image's, Docker Hub)
    assert builder.auth_for("127.0.0.1:5001/parent:1") is None
    assert builder.auth_for("zenmldocker/zenml:0.66.0-py3.11") is None


@pytest.mark.parametrize("setting, reference, message", [
    ("RUNNER_REGISTRY_SECRET", "nowhere", "the runner registry's secret 'nowhere' does not exist"),
    ("RUNNER_REGISTRY_CONNECTOR", "nowhere", "the runner registry's service connector 'nowhere' does not exist"),
    ("RUNNER_REGISTRY_SECRET", "half", "the secret 'half' has no value for password"),
])
def test_a_login_that_cannot_be_read_is_a_clear_error(client, app, setting, reference, message):
    create_secret(client, "half", {"username": "only"})
    with pytest.raises(RegistryLoginError) as err:
        login_for(app, **{setting: reference})
    assert str(err.value) == message


def test_a_connector_of_another_kind_is_refused(client, app):
    workspace = client.get("/api/v1/workspaces/default").json["id"]
    me = client.get("/api/v1/current-user").json["id"]
    body = {"user": me, "workspace": workspace, "name": "aws-one", "connector_type": "aws", "auth_method": "secret-key",
            "resource_types": ["s3-bucket"], "configuration": {"region": "eu-west-1"},
            "secrets": {"aws_access_key_id": "AKIA", "aws_secret_access_key": "x"}, "labels": {}}
    register(client, body)
    with pytest.raises(RegistryLoginError, match="a 'docker' connector with 'password' is needed"):
        login_for(app, RUNNER_REGISTRY_CONNECTOR="aws-one")
