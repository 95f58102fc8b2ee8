"""The OAuth2 device flow and the authorized-device routes."""

from __future__ import annotations

import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from store.base import utcnow
from store.devices import Device
from tests.conftest import ApiClient
from tests.test_openapi import assert_fits

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
USER_AGENT = "Host/laptop ZenML/0.66.0 Python/3.11.9 OS/Linux"


class Flow:
    """What `zenml connect --url ...` does: ask for codes, then poll."""

    def __init__(self, app, client_id=None):
        self.http = app.test_client(use_cookies=False)
        self.client_id = str(client_id or uuid.uuid4())
        response = self.http.post(
            "/api/v1/device_authorization", data={"client_id": self.client_id}, headers={"User-Agent": USER_AGENT}
        )
        assert response.status_code == 200, response.json
        self.answer = response.json
        query = parse_qs(urlsplit(self.answer["verification_uri_complete"]).query)
        self.device_id = query["device_id"][0]
        self.user_code = query["user_code"][0]

    def poll(self, device_code=None):
        return self.http.post(
            "/api/v1/login",
            data={"grant_type": DEVICE_GRANT, "client_id": self.client_id,
                  "device_code": device_code or self.answer["device_code"]},
        )


def verify(client, flow, **body):
    return client.put(f"/api/v1/devices/{flow.device_id}/verify", json={"user_code": flow.user_code, **body})


def as_bearer(app, token):
    http = app.test_client(use_cookies=False)
    return lambda method, path, **kw: getattr(http, method)(path, headers={"Authorization": f"Bearer {token}"}, **kw)


def test_device_flow_end_to_end(client):
    flow = Flow(client.app)
    assert_fits("OAuthDeviceAuthorizationResponse", flow.answer)
    assert flow.answer["interval"] == 5 and flow.answer["expires_in"] == 300
    assert flow.answer["verification_uri"] == "/devices/verify"
    assert flow.answer["user_code"] == flow.user_code

    pending = flow.poll()
    assert pending.status_code == 400
    assert pending.json["error"] == "authorization_pending"

    # the dashboard shows the unclaimed device to whoever has its user code
    assert client.get(f"/api/v1/devices/{flow.device_id}").status_code == 404
    assert client.get(f"/api/v1/devices/{flow.device_id}?user_code=wrong").status_code == 404
    shown = client.get(f"/api/v1/devices/{flow.device_id}?user_code={flow.user_code}").json
    assert_fits("OAuthDeviceResponse", shown)
    assert shown["body"]["status"] == "pending" and shown["body"]["hostname"] == "laptop"
    assert shown["body"]["os"] == "Linux" and shown["metadata"]["zenml_version"] == "0.66.0"

    verified = verify(client, flow)
    assert verified.status_code == 200, verified.json
    assert verified.json["body"]["status"] == "verified"
    assert verified.json["body"]["user"]["name"] == "default"
    assert "device_verified" in client.get("/api/v1/onboarding_state").json

    token = flow.poll()
    assert token.status_code == 200, token.json
    assert_fits("OAuthTokenResponse", token.json)
    assert "Set-Cookie" not in token.headers  # ZenML sets no cookie for a device
    assert 0 < token.json["expires_in"] <= 24 * 60 * 60
    call = as_bearer(client.app, token.json["access_token"])
    assert call("get", "/api/v1/current-user").json["name"] == "default"

    device = client.get(f"/api/v1/devices/{flow.device_id}").json
    assert device["body"]["status"] == "active" and device["body"]["expires"] is not None
    assert device["metadata"]["last_login"] is not None
    page = client.get("/api/v1/devices?hydrate=true").json
    assert_fits("Page_OAuthDeviceResponse_", page)
    assert [d["id"] for d in page["items"]] == [flow.device_id]
    assert client.get(f"/api/v1/devices?status=active&client_id={flow.client_id}").json["total"] == 1

    # the code is spent: a second exchange is refused
    again = flow.poll()
    assert again.status_code == 400 and again.json["error"] == "expired_token"
    # a workload token made from a device token is revoked with the device
    workload = call("get", "/api/v1/api_token?expires_minutes=5").json

    assert client.put(f"/api/v1/devices/{flow.device_id}", json={"locked": True}).json["body"]["status"] == "locked"
    assert call("get", "/api/v1/current-user").status_code == 401
    assert as_bearer(client.app, workload)("get", "/api/v1/current-user").status_code == 401
    assert client.put(f"/api/v1/devices/{flow.device_id}", json={"locked": False}).json["body"]["status"] == "active"
    assert call("get", "/api/v1/current-user").status_code == 200

    assert client.delete(f"/api/v1/devices/{flow.device_id}").status_code == 200
    response = call("get", "/api/v1/current-user")
    assert response.status_code == 401 and response.json["detail"][0] == "AuthorizationException"
    assert client.get("/api/v1/devices").json["total"] == 0


def test_trusted_devices_last_longer(client):
    flow = Flow(client.app)
    assert verify(client, flow, trusted_device=True).status_code == 200
    token = flow.poll().json
    assert token["expires_in"] > 29 * 24 * 60 * 60
    assert client.get(f"/api/v1/devices/{flow.device_id}").json["body"]["trusted_device"] is True


def test_devices_belong_to_their_user(client, make_user):
    make_user("other", password="pw")
    other = ApiClient(client.app, "other", "pw")
    flow = Flow(client.app)
    assert verify(client, flow).status_code == 200
    for method, kw in (("get", {}), ("put", {"json": {"locked": True}}), ("delete", {})):
        response = getattr(other, method)(f"/api/v1/devices/{flow.device_id}", **kw)
        assert response.status_code == 404, (method, response.json)
    assert other.get("/api/v1/devices").json["total"] == 0
    # even with the user code, another user cannot verify a claimed device
    repeat = Flow(client.app, flow.client_id)  # a new request for the same client starts over
    refused = other.put(f"/api/v1/devices/{repeat.device_id}/verify", json={"user_code": repeat.user_code})
    assert refused.status_code == 400 and "another user" in refused.json["detail"][1]


def test_wrong_codes_lock_the_device(client):
    flow = Flow(client.app)
    for attempt in (1, 2):
        wrong = client.put(f"/api/v1/devices/{flow.device_id}/verify", json={"user_code": "0" * 32})
        assert wrong.status_code == 400 and wrong.json["detail"] == ["ValueError", "Invalid request: invalid user code."]
    locked = client.put(f"/api/v1/devices/{flow.device_id}/verify", json={"user_code": "0" * 32})
    assert locked.json["detail"][1] == "Invalid request: device locked due to too many failed authentication attempts."
    assert verify(client, flow).json["detail"][1] == "Invalid request: device not pending verification."
    denied = flow.poll()
    assert denied.status_code == 400 and denied.json["error"] == "access_denied"

    # wrong device codes lock a verified device as well
    flow = Flow(client.app)
    assert verify(client, flow).status_code == 200
    for _ in range(2):
        assert "invalid device code" in flow.poll("f" * 64).json["error_description"]
    assert "has been locked" in flow.poll("f" * 64).json["error_description"]
    assert flow.poll().json["error"] == "access_denied"


def test_expired_requests(client):
    flow = Flow(client.app)
    db = client.app.extensions["zenyard"]["db"]
    with db.unit_of_work() as session:
        session.get(Device, uuid.UUID(flow.device_id)).expires = utcnow() - timedelta(seconds=1)
    assert verify(client, flow).json["detail"][1] == "Invalid request: device verification expired."

    # an expired, unclaimed request is cleaned up when another client starts
    Flow(client.app)
    with db.reading() as session:
        assert session.get(Device, uuid.UUID(flow.device_id)) is None

    # a verified device whose time ran out gets no token
    flow = Flow(client.app)
    assert verify(client, flow).status_code == 200
    with db.unit_of_work() as session:
        session.get(Device, uuid.UUID(flow.device_id)).expires = utcnow() - timedelta(seconds=1)
    assert flow.poll().json["error"] == "expired_token"


def test_device_tokens_end_with_the_device_lifetime(client):
    flow = Flow(client.app)
    verify(client, flow)
    call = as_bearer(client.app, flow.poll().json["access_token"])
    db = client.app.extensions["zenyard"]["db"]
    with db.unit_of_work() as session:
        session.get(Device, uuid.UUID(flow.device_id)).expires = utcnow() - timedelta(seconds=1)
    response = call("get", "/api/v1/current-user")
    assert response.status_code == 401 and "expired" in response.json["detail"][1]


def test_a_new_request_for_a_connected_client_revokes_its_token(client):
    flow = Flow(client.app)
    verify(client, flow)
    call = as_bearer(client.app, flow.poll().json["access_token"])
    again = Flow(client.app, flow.client_id)
    assert again.device_id == flow.device_id
    assert call("get", "/api/v1/current-user").status_code == 401
    assert again.poll().json["error"] == "authorization_pending"
    with client.app.extensions["zenyard"]["db"].reading() as session:
        assert len(session.scalars(select(Device)).all()) == 1


def test_deleting_the_user_revokes_their_device_tokens(client, make_user):
    user = make_user("leaving", password="pw")
    theirs = ApiClient(client.app, "leaving", "pw")
    flow = Flow(client.app)
    assert theirs.put(f"/api/v1/devices/{flow.device_id}/verify", json={"user_code": flow.user_code}).status_code == 200
    call = as_bearer(client.app, flow.poll().json["access_token"])
    assert call("get", "/api/v1/current-user").json["name"] == "leaving"
    assert client.delete(f"/api/v1/users/{user['id']}").status_code == 200
    assert call("get", "/api/v1/current-user").status_code == 401


def test_verification_uri_points_at_the_dashboard(tmp_path, server_databases):
    from tests.conftest import make_app, reset_database

    app = make_app("sqlite", tmp_path, server_databases, DASHBOARD_URL="https://zen.example/")
    reset_database(app)
    flow = Flow(app)
    assert flow.answer["verification_uri"] == "https://zen.example/devices/verify"
    assert flow.answer["verification_uri_complete"].startswith("https://zen.example/devices/verify?device_id=")
