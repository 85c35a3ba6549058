"""Whose a job or a batch is: a random owner token kept in the browser's session.

Not the session id, which is the visitor's live cookie: the token opens nothing by itself, and
staff never see it anyway (the admin leaves it out). It stays with the session when Django
cycles the session's key at a login."""

import secrets
from importlib import import_module

from django.conf import settings

SESSION_KEY = "owner"


def owner_token(request, *, create: bool = False) -> str:
    """This session's owner token; with `create`, one is made for a session that has none
    (which then starts the session). Empty: the session owns nothing."""
    token = request.session.get(SESSION_KEY, "")
    if not token and create:
        token = request.session[SESSION_KEY] = secrets.token_urlsafe(24)
    return token


def session_owner_token(session_key: str) -> str:
    """The owner token of the stored session `session_key`, given to it if it had none; a
    token nobody holds if that session is gone. For the migration that replaced the session
    keys jobs and batches were stored with: their visitors keep them."""
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    if not store.exists(session_key):
        return secrets.token_urlsafe(24)
    token = store.get(SESSION_KEY) or secrets.token_urlsafe(24)
    store[SESSION_KEY] = token
    store.save()
    return token


def owners_from_session_keys(model) -> None:
    """Give each row of `model` (a historical model with `session_key` and `owner`) the owner
    token of the session it names."""
    rows = model.objects.exclude(session_key="")
    for session_key in rows.values_list("session_key", flat=True).distinct():
        model.objects.filter(session_key=session_key).update(owner=session_owner_token(session_key))
