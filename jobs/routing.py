"""Websocket routes, and the origin check every socket passes before its session is read.

A browser sends the page's origin with a websocket handshake; Ferry accepts only its own origin
(scheme, host and port of the handshake itself, host in ALLOWED_HOSTS) and the origins named in
FERRY_CSRF_TRUSTED_ORIGINS, so no other site can open a socket with an operator's cookie.
"""
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.urls import path

from jobs import consumers

websocket_urlpatterns = [
    path("ws/jobs/", consumers.JobsConsumer.as_asgi()),
    path("ws/jobs/<int:job_id>/", consumers.JobConsumer.as_asgi()),
]

DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_tuple(url: str) -> tuple[str, str, int] | None:
    """`https://Ferry.example.com` → ("https", "ferry.example.com", 443); None when it is not an origin."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/") or port is None:
        return None
    return parts.scheme, parts.hostname.lower(), port


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin1")
    return None


def own_origin(scope) -> tuple[str, str, int] | None:
    """The origin of the handshake itself, when its Host is one Ferry answers to."""
    host = _header(scope, b"host")
    if not host:
        return None
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    secure = scope.get("scheme") == "wss"
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy_header:
        name, value = proxy_header
        forwarded = _header(scope, name.lower().removeprefix("http_").replace("_", "-").encode())
        secure = secure or forwarded == value
    return origin_tuple(f"{'https' if secure else 'http'}://{host}")


def allowed_origin(scope) -> bool:
    origin = _header(scope, b"origin")
    parsed = origin_tuple(origin) if origin else None
    if parsed is None:
        return False
    trusted = {origin_tuple(o) for o in settings.CSRF_TRUSTED_ORIGINS}
    return parsed in trusted or parsed == own_origin(scope)


class SameOriginValidator:
    """ASGI middleware: refuse (HTTP 403 on the handshake) a socket from another origin."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not allowed_origin(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
