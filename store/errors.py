"""Domain exceptions, named as the ZenML client knows them.

The client turns an error body `{"detail": [name, message]}` back into the
exception class called `name`, so each class here carries the ZenML name
(`wire_name`) and its HTTP status. One table (`STATUS`) and one handler in
`blueprints.errors` write the answer; nothing else decides status codes.
"""

from __future__ import annotations


class ZenyardError(Exception):
    """Base of the errors that Zenyard answers with a 4xx/5xx body."""

    status = 500
    wire_name = "RuntimeError"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NotFound(ZenyardError):
    """The entity does not exist (ZenML answers KeyError, 404)."""

    status = 404
    wire_name = "KeyError"


class EntityExists(ZenyardError):
    """A unique name or key is taken (409)."""

    status = 409
    wire_name = "EntityExistsError"


class IllegalOperation(ZenyardError):
    """The operation is not allowed in this state or for this caller (403)."""

    status = 403
    wire_name = "IllegalOperationError"


class NotAuthorized(ZenyardError):
    """Missing, invalid or expired credentials (401)."""

    status = 401
    wire_name = "AuthorizationException"


class BadRequest(ZenyardError):
    """Semantically invalid input (ZenML answers ValueError, 400)."""

    status = 400
    wire_name = "ValueError"


class InvalidInput(ZenyardError):
    """Input that fails validation (ZenML answers ValueError, 422)."""

    status = 422
    wire_name = "ValueError"


class NotImplementedYet(ZenyardError):
    """An operation this server does not provide (501)."""

    status = 501
    wire_name = "NotImplementedError"


class StackExists(EntityExists):
    """A stack's name is taken in the workspace."""

    wire_name = "StackExistsError"


class StackComponentExists(EntityExists):
    """A component's (name, type) is taken in the workspace."""

    wire_name = "StackComponentExistsError"


class Unsupported(ZenyardError):
    """This server cannot do that for this input (a connector type it cannot
    verify, an artifact store it cannot read). A 4xx: the request is fine
    for ZenML in general, but not one Zenyard can serve; the client still
    raises its NotImplementedError."""

    status = 400
    wire_name = "NotImplementedError"


class DoesNotExist(NotFound):
    """ZenML's DoesNotExistException (404): something inside an entity is
    missing, such as a visualization index."""

    wire_name = "DoesNotExistException"


class OAuthFailure(ZenyardError):
    """An OAuth2 token-endpoint error (`authorization_pending`, `access_denied`,
    ...): ZenML answers these with the OAuth2 body `{"error",
    "error_description", "error_uri"}`, which the polling client reads."""

    status = 400
    wire_name = "OAuthError"

    def __init__(self, error: str, message: str):
        super().__init__(message)
        self.error = error
