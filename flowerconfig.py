"""Flower's settings: Flower reads this file from the working directory when it starts
(`celery -A image_parroter flower`, the Procfile's and compose's command).

Flower shows every task's arguments and can revoke tasks and shut workers down, so it does
not start without a password of its own: FLOWER_BASIC_AUTH=user:password, the password at
least 12 characters and none of the usual defaults."""

import os

WEAK = {"admin", "change-me", "changeme", "flower", "password", "secret", "celery"}

user, _, password = os.environ.get("FLOWER_BASIC_AUTH", "").partition(":")
if not user or len(password) < 12 or password.lower() in WEAK:
    raise SystemExit(
        "Flower needs FLOWER_BASIC_AUTH=user:password, with a password of 12 characters or "
        "more that is not a default; it refuses to start without one."
    )
basic_auth = [f"{user}:{password}"]
