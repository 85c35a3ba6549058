"""Flower's settings: Flower reads this file from the working directory when it starts
(`celery -A image_parroter flower`, the Procfile's and compose's command), after the Celery
app, and with it Django's settings, is loaded.

Flower shows every task's arguments and can revoke tasks and shut workers down, so it does
not start without a password of its own: FLOWER_BASIC_AUTH=user:password, the password at
least 12 characters and none of the usual defaults.

It shows a task waiting in a queue (its name, and since when) only from the task-sent event
the web sends as it queues it, and what workers do from their task events: both are on with
CELERY_TASK_EVENTS=true for the web and the workers (compose's `flower` profile,
docs/RUNNING.md), and Flower refuses to start without it. It does not switch the workers'
events on by itself either: they would stay on, and cost, after it stopped."""

import os

from django.conf import settings

WEAK = {"admin", "change-me", "changeme", "flower", "password", "secret", "celery"}

user, _, password = os.environ.get("FLOWER_BASIC_AUTH", "").partition(":")
if not user or len(password) < 12 or password.lower() in WEAK:
    raise SystemExit(
        "Flower needs FLOWER_BASIC_AUTH=user:password, with a password of 12 characters or "
        "more that is not a default; it refuses to start without one."
    )
if not settings.CELERY_TASK_SEND_SENT_EVENT:
    raise SystemExit(
        "Flower needs CELERY_TASK_EVENTS=true, for it and for the web and the workers it "
        "watches: without their task events it shows no task."
    )
basic_auth = [f"{user}:{password}"]
enable_events = False
