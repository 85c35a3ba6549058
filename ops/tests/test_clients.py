"""The client's address and scheme are a trusted proxy's word, never a client's."""

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from image_parroter.middleware import ForwardedHeadersMiddleware
from ops import clients


def through_middleware(**meta):
    """The request as the views see it after ForwardedHeadersMiddleware."""
    seen = {}

    def view(request):
        seen["request"] = request
        return HttpResponse()

    ForwardedHeadersMiddleware(view)(RequestFactory().get("/", **meta))
    return seen["request"]


FORWARDED = {
    "HTTP_X_FORWARDED_FOR": "203.0.113.9",
    "HTTP_X_FORWARDED_PROTO": "https",
    "HTTP_X_REAL_IP": "203.0.113.9",
    "HTTP_FORWARDED": "for=203.0.113.9;proto=https",
}


def test_without_a_trusted_proxy_a_clients_forwarded_headers_are_dropped(settings):
    settings.TRUSTED_PROXIES = []
    request = through_middleware(REMOTE_ADDR="198.51.100.7", **FORWARDED)

    assert clients.client_address(request) == "198.51.100.7"
    assert not set(FORWARDED) & set(request.META)
    assert not request.is_secure()


def test_a_trusted_proxy_gives_the_clients_address_and_scheme(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    request = through_middleware(REMOTE_ADDR="10.1.2.3", **FORWARDED)

    assert clients.client_address(request) == "203.0.113.9"
    assert clients.came_through_proxy(request)
    assert request.is_secure()


def test_a_proxy_on_the_unix_socket_is_trusted_only_when_named(settings):
    settings.TRUSTED_PROXIES = ["unix"]
    assert clients.client_address(through_middleware(REMOTE_ADDR="", **FORWARDED)) == (
        "203.0.113.9"
    )
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    assert clients.client_address(through_middleware(REMOTE_ADDR="", **FORWARDED)) == (
        clients.UNKNOWN
    )


@pytest.mark.parametrize(
    ("header", "address"),
    [
        # The last address is the one the trusted proxy saw; what came before is the client's.
        ("198.51.100.1, 203.0.113.9", "203.0.113.9"),
        ("203.0.113.9 ,", "203.0.113.9"),
        ("2001:db8::1", "2001:db8::1"),
        ("not an address, nor this", clients.UNKNOWN),
        (",,,", clients.UNKNOWN),
        ("", clients.UNKNOWN),
    ],
)
def test_any_x_forwarded_for_gives_an_address_or_nothing(settings, header, address):
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    request = through_middleware(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=header)
    assert clients.client_address(request) == address


@pytest.mark.django_db
def test_a_comma_separated_x_forwarded_for_never_gives_a_500(client, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    for header in ("198.51.100.1, 203.0.113.9", "garbage, , 1.2.3", "x" * 5000):
        assert client.get("/", HTTP_X_FORWARDED_FOR=header).status_code == 200
        assert client.post("/", {}, HTTP_X_FORWARDED_FOR=header).status_code == 200


@pytest.mark.parametrize(
    ("trusted", "meta", "loopback"),
    [
        ([], {"REMOTE_ADDR": "127.0.0.1"}, True),
        ([], {"REMOTE_ADDR": "::1"}, True),
        ([], {"REMOTE_ADDR": "10.1.2.3"}, False),
        ([], {"REMOTE_ADDR": ""}, False),
        # Forwarded headers from an unnamed proxy are not believed, but they do say a proxy
        # forwarded it: not a direct connection.
        ([], {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}, False),
        ([], {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_REAL_IP": "203.0.113.9"}, False),
        ([], {"REMOTE_ADDR": "127.0.0.1", "HTTP_FORWARDED": "for=203.0.113.9"}, False),
        # Through the front, even for a client on this host.
        (["unix"], {"REMOTE_ADDR": "", "HTTP_X_FORWARDED_FOR": "127.0.0.1"}, False),
        (["127.0.0.1"], {"REMOTE_ADDR": "127.0.0.1"}, False),
    ],
)
def test_only_a_direct_loopback_connection_is_local(settings, trusted, meta, loopback):
    settings.TRUSTED_PROXIES = trusted
    assert clients.from_loopback(through_middleware(**meta)) is loopback
