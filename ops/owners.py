"""Whose a job or a batch is: a random owner token kept in the browser's session.

Not the session id, which is the visitor's live cookie: the token opens nothing by itself, and
staff never see it anyway (the admin leaves it out). It stays with the session when Django
cycles the session's key at a login."""

import secrets

SESSION_KEY = "owner"


def owner_token(request, *, create: bool = False) -> str:
    """This session's owner token; with `create`, one is made for a session that has none
    (which then starts the session). Empty: the session owns nothing."""
    token = request.session.get(SESSION_KEY, "")
    if not token and create:
        token = request.session[SESSION_KEY] = secrets.token_urlsafe(24)
    return token
