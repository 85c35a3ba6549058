"""Limits on what anonymous visitors may have the site do (DESIGN's `limits` row).

Before a request's body is read (image_parroter.middleware.LimitsMiddleware): a body over its
cap is refused by its Content-Length (413); each anonymous write (WRITES) is counted in Redis
by django-ratelimit, per client address and per browser session, and refused over either rate
(429 with Retry-After); a user batch is refused while its address or session has
USER_BATCHES_UNFINISHED batches being made. Before an upload is decoded (thumbnailer.views):
a budget of megapixels per address a minute. The admin login is django-axes', which answers a
lockout here too (login_locked_out).

Addresses and sessions are counted by a keyed hash (client_tag, session_tag): no Redis key, row
or log holds an address, a session key or an owner token. With Redis away nothing is counted
and nobody is refused for a rate or the budget (the site stays usable, and what is made
meanwhile waits for the sweep); the body caps, the unfinished batches and the login lockouts
need no Redis.
"""

import ipaddress
import time
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db.models import Q
from django.http import HttpResponse
from django.urls import Resolver404, resolve
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from django_ratelimit.core import get_usage

from . import clients, redis_client
from .owners import owner_token
from .responses import payload_too_large, too_many_requests


@dataclass(frozen=True)
class Write:
    """A kind of anonymous write: what django-ratelimit counts it as, the settings that hold
    its rates per client address and per session, and what a refused person is told."""

    group: str
    rate: str
    session_rate: str
    reason: str


UPLOADS = Write(
    "uploads",
    "UPLOAD_RATE",
    "UPLOAD_SESSION_RATE",
    _("You have sent a lot of uploads in a short time."),
)
USER_BATCHES = Write(
    "user_batches",
    "USER_BATCH_RATE",
    "USER_BATCH_SESSION_RATE",
    _("You have asked for a lot of users in a short time."),
)
JOB_ACTIONS = Write(
    "job_actions",
    "JOB_ACTION_RATE",
    "JOB_ACTION_SESSION_RATE",
    _("You have sent a lot of requests in a short time."),
)
# Every anonymous write, by its URL's name (each a POST).
WRITES = {
    "thumbnailer:upload": UPLOADS,
    "users:generate": USER_BATCHES,
    "thumbnailer:cancel": JOB_ACTIONS,
    "thumbnailer:retry": JOB_ACTIONS,
    "thumbnailer:share": JOB_ACTIONS,
    "thumbnailer:share_revoke": JOB_ACTIONS,
    "users:batch_cancel": JOB_ACTIONS,
}
UNFINISHED_BATCHES = _("The users you asked for a moment ago are still being made.")
# A batch of 500 takes about a second once a worker has it.
UNFINISHED_RETRY_SECONDS = 10
TOO_MANY_PIXELS = _("The images you sent in the last minute were very large.")
LOGIN_LOCKED_OUT = _("Too many wrong passwords were tried from your address.")
MEGAPIXEL_WINDOW_SECONDS = 60


def refusal(request) -> HttpResponse | None:
    """413 or 429 for a request over a cap or a limit, decided before its body is read; None
    for any other."""
    length = _content_length(request)
    if request.method != "POST" and length <= settings.BODY_MAX_BYTES:
        return None
    view_name = _view_name(request)
    upload = view_name == "thumbnailer:upload"
    cap = settings.UPLOAD_BODY_MAX_BYTES if upload else settings.BODY_MAX_BYTES
    if length > cap:
        return payload_too_large(request, cap)
    write = WRITES.get(view_name) if request.method == "POST" else None
    if write is None:
        return None
    if wait := _rate_wait(request, write):
        return too_many_requests(request, write.reason, wait)
    if write is USER_BATCHES and unfinished_batches(request) >= settings.USER_BATCHES_UNFINISHED:
        return too_many_requests(request, UNFINISHED_BATCHES, UNFINISHED_RETRY_SECONDS)
    return None


def _content_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:  # Django reads no body then
        return 0


def _view_name(request) -> str:
    try:
        return resolve(request.path_info).view_name
    except Resolver404:
        return ""


def _tag(value: str) -> str:
    return salted_hmac("ops.limits", value, algorithm="sha256").hexdigest()


def client_network(request) -> str:
    """The client's address as the limits count it: an IPv6 client by its /64 (which one
    subscriber holds whole), as django-ratelimit does; also django-axes' (settings)."""
    address = clients.client_address(request)
    network = ipaddress.ip_network(f"{address}/{64 if ':' in address else 32}", strict=False)
    return str(network.network_address)


def client_tag(request) -> str:
    """The client's network (client_network) as a keyed hash."""
    return _tag(client_network(request))


def session_tag(request) -> str:
    """The browser session as the limits count it (its owner token, else its key), as a keyed
    hash; empty for a request without a session."""
    token = owner_token(request) or request.session.session_key
    return _tag(token) if token else ""


def _rate_wait(request, write: Write) -> int | None:
    """Count this write for its address and its session; the seconds to wait if either is
    over its rate, else None."""
    counters = [(write.group, "ip", getattr(settings, write.rate))]
    if tag := session_tag(request):
        session_rate = getattr(settings, write.session_rate)
        counters.append((f"{write.group}:session", lambda *_: tag, session_rate))
    waits = []
    try:
        for group, key, rate in counters:
            usage = get_usage(request, group=group, key=key, rate=rate, increment=True)
            if usage and usage["should_limit"]:
                waits.append(max(1, usage["time_left"]))
    except redis_client.ERRORS:
        return None
    return max(waits, default=None)


def unfinished_batches(request) -> int:
    """User batches being made for this client address or this session."""
    batches = apps.get_model("users", "UserBatch").objects.unfinished()
    mine = Q(client=client_tag(request))
    if token := owner_token(request):
        mine |= Q(owner=token)
    return batches.filter(mine).count()


def megapixels_wait(request, pixels: int) -> int | None:
    """Charge an upload's `pixels` (its images' headers' width x height) to its address's
    UPLOAD_MEGAPIXELS_PER_MINUTE; the seconds to wait if that passes it (and then nothing is
    charged), else None. The first upload of a minute always passes, whatever its size."""
    megapixels = -(-pixels // 1_000_000)
    if not megapixels:
        return None
    now = int(time.time())
    window_end = now - now % MEGAPIXEL_WINDOW_SECONDS + MEGAPIXEL_WINDOW_SECONDS
    key = f"limits:megapixels:{client_tag(request)}:{window_end}"
    try:
        cache.add(key, 0, timeout=window_end - now + 5)
        spent = cache.incr(key, megapixels)
        if spent > settings.UPLOAD_MEGAPIXELS_PER_MINUTE and spent > megapixels:
            cache.decr(key, megapixels)
            return max(1, window_end - now)
    except (*redis_client.ERRORS, ValueError):  # ValueError: the count lapsed meanwhile
        return None
    return None


def login_locked_out(request, original_response=None, credentials=None) -> HttpResponse:
    """django-axes' answer to a login from an address that is locked out (AXES_LOCKOUT_CALLABLE).
    The attempt has just started the cool-off again, so that is the wait."""
    return too_many_requests(request, LOGIN_LOCKED_OUT, settings.LOGIN_COOLOFF_SECONDS)
