from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    """The site's user; its own model from the first migration so it can grow."""

    class Meta(AbstractUser.Meta):
        ordering = ["-date_joined", "-id"]
