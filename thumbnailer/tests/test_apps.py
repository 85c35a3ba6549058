"""Pillow's decompression-bomb guard is an error, at the configured limit, in every process
that loads Django: the web process, workers and management commands."""

import os
import subprocess
import sys
import warnings

from django.conf import settings
from PIL import Image

from .images import image_bytes

CHECK = """
import django, warnings
django.setup()
from io import BytesIO
from PIL import Image
print(Image.MAX_IMAGE_PIXELS)
try:
    Image.open(BytesIO(bytes.fromhex('{png}')))
except Image.DecompressionBombWarning:
    print('refused')
"""


def test_this_process_uses_the_configured_limit_and_treats_the_warning_as_an_error():
    assert Image.MAX_IMAGE_PIXELS == settings.MAX_IMAGE_PIXELS
    assert any(
        action == "error" and category is Image.DecompressionBombWarning
        for action, _, category, _, _ in warnings.filters
    )


def test_a_fresh_django_process_refuses_an_image_over_the_configured_limit():
    # 200x100 = 20,000 pixels: over a limit of 15,000 but under Pillow's hard 2x error.
    png = image_bytes("PNG", (200, 100)).hex()
    env = {**os.environ, "MAX_IMAGE_PIXELS": "15000"}
    result = subprocess.run(
        [sys.executable, "-W", "default", "-c", CHECK.format(png=png)],
        env=env,
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        check=True,
    )
    assert result.stdout.split() == ["15000", "refused"]
