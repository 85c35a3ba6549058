from django.apps import AppConfig


class ThumbnailerConfig(AppConfig):
    name = "thumbnailer"
    verbose_name = "Thumbnailer"
