"""Flask extensions, created unbound; `create_app` initialises them."""

import time

from flask_jwt_extended import JWTManager
from flask_jwt_extended.config import config as jwt_config
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address


class VerifiedTokenCache(JWTManager):
    """flask-jwt-extended, remembering the tokens it has verified.

    A client sends the same bearer token with every request, and verifying
    it costs about 0.35 ms (PyJWT decodes it three times, checking each
    character of the base64 on the way): about a tenth of what recording a
    run costs the server. A token verified once (signature, audience,
    issuer) is taken from here until it expires; everything that can revoke
    it while it is valid (a deactivated user, a revoked API key or device)
    is checked on each request after decoding, as before. Tokens that come
    with a CSRF value (cookies) are always verified in full.

    It hooks flask-jwt-extended 4.x's `_decode_jwt_from_config`, the one
    place that library decodes a token; were that method renamed, tokens
    would simply be verified in full again (test_auth covers expiry).
    """

    #: Verified tokens kept per process (a token is a few hundred bytes).
    MAX_TOKENS = 4096

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._verified: dict[str, dict] = {}

    def _decode_jwt_from_config(self, encoded_token: str, csrf_value=None, allow_expired: bool = False) -> dict:
        if csrf_value is None:
            claims = self._verified.get(encoded_token)
            if claims is not None and (allow_expired or _unexpired(claims)):
                return dict(claims)
        claims = super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        if csrf_value is None and _unexpired(claims):
            if len(self._verified) >= self.MAX_TOKENS:
                self._verified.clear()
            self._verified[encoded_token] = dict(claims)
        return claims


def _unexpired(claims: dict) -> bool:
    expires = claims.get("exp")
    return expires is None or time.time() < expires + jwt_config.leeway


jwt = VerifiedTokenCache()
# Limits apply only where a route asks for one (login); enabled by settings.
limiter = Limiter(key_func=get_remote_address, default_limits=[])
