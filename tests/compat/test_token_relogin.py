"""A token the server no longer accepts: the client logs in again by itself.

Waiting for a real expiry (`ZENML_SERVER_JWT_TOKEN_EXPIRE_MINUTES=1`) would
take a minute, so the server is restarted on the same port and data dir with
a different `ZENML_SERVER_JWT_SECRET_KEY`: every token it issued before is
then rejected, which is what the client sees when its token expires.
"""

from __future__ import annotations

import re
import secrets
import urllib.error
import urllib.request

import pytest

pytestmark = pytest.mark.compat

WHO_AM_I = """
from zenml.client import Client

result["user"] = Client().active_user.name
"""


def _status_with_token(url: str, token: str) -> int:
    request = urllib.request.Request(url + "/api/v1/current-user", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def test_client_logs_in_again_when_its_token_is_rejected(zenyard_factory, client_factory):
    server = zenyard_factory(env={"ZENML_SERVER_JWT_SECRET_KEY": secrets.token_hex(32)}, name="relogin")
    client = client_factory(server, name="relogin-client")
    client.connect()
    old_token = client.stored_config()["store"]["api_token"]
    assert _status_with_token(server.url, old_token) == 200

    server.restart(env={"ZENML_SERVER_JWT_SECRET_KEY": secrets.token_hex(32)})
    assert _status_with_token(server.url, old_token) == 401, "the restarted server must reject the old token"

    mark = server.mark_log()
    assert client.run(WHO_AM_I) == {"user": "default"}, "the same client config keeps working"

    # Evidence that the re-login path was taken: a 401, then a successful login.
    access = re.findall(r'"(GET|POST|PUT|DELETE) (\S+) HTTP/[\d.]+" (\d{3})', server.log_since(mark))
    statuses = [(method, path.split("?")[0], int(code)) for method, path, code in access]
    first_401 = next((i for i, (_, _, code) in enumerate(statuses) if code == 401), None)
    assert first_401 is not None, f"expected the stored token to be refused once: {statuses}"
    assert ("POST", "/api/v1/login", 200) in statuses[first_401:], statuses
