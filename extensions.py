"""Flask extensions, created unbound; `create_app` initialises them."""

from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

jwt = JWTManager()
# Limits apply only where a route asks for one (login); enabled by settings.
limiter = Limiter(key_func=get_remote_address, default_limits=[])
