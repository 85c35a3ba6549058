import warnings

from django.apps import AppConfig
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class ThumbnailerConfig(AppConfig):
    name = "thumbnailer"
    verbose_name = _("Thumbnailer")

    def ready(self):
        # In every process that loads Django (web, workers, shell): Pillow refuses images
        # over the product's pixel limit, and its bomb warning stops the decode instead of
        # just being logged.
        from PIL import Image

        Image.MAX_IMAGE_PIXELS = settings.MAX_IMAGE_PIXELS
        warnings.simplefilter("error", Image.DecompressionBombWarning)
