"""The cache lives in Redis, which may be shared: what it reads there is data, never code."""

import os
import pickle

import pytest
from django.core.cache import cache

from ops import redis_client


class Planted:
    """What someone with write access to a shared Redis could store: a pickle that runs a
    command of theirs when it is loaded (here: making a folder)."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (os.mkdir, (self.path,))


def test_a_pickle_planted_where_the_cache_reads_is_not_run(tmp_path):
    ran = tmp_path / "the planted pickle ran"
    redis_client.client().set(cache.make_and_validate_key("planted"), pickle.dumps(Planted(ran)))

    with pytest.raises(ValueError):  # not JSON: refused, as a value of another program
        cache.get("planted")

    assert not ran.exists()


@pytest.mark.django_db
def test_what_the_site_keeps_in_the_cache_is_json_or_plain_integers(client):
    cache.set("a-dict", {"when": "now", "n": [1, 2]})
    cache.set("a-count", 3)
    client.post("/", {})  # the upload limit counts in the cache
    assert cache.incr("a-count") == 4 and cache.get("a-dict") == {"when": "now", "n": [1, 2]}

    server = redis_client.client()
    keys = list(server.scan_iter(cache.make_and_validate_key("*")))
    assert len(keys) >= 3
    for key in keys:
        assert not server.get(key).startswith(b"\x80"), f"{key} holds a pickle"
