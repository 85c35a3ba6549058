"""Why a job failed, kept so that each reader sees it in their own language.

A reason is a list of sentences, each an English message id (marked with gettext_noop where it
is written, so it is in the catalogues) and its values; shown, the sentences are translated,
their numbers grouped as the reader's language does, and joined with spaces."""

from django.utils import translation
from django.utils.formats import number_format
from django.utils.translation import gettext

Reason = list[tuple[str, dict]]


def because(text: str, **params) -> tuple[str, dict]:
    """One sentence of a reason."""
    return text, params


def shown(reason: Reason) -> str:
    """The reason in the current language."""
    return " ".join(translated(text, params) for text, params in reason)


def translated(text: str, params: dict) -> str:
    """One sentence in the current language, its numbers grouped as the language does."""
    return gettext(text) % {name: _grouped(value) for name, value in params.items()}


def in_english(reason: Reason) -> str:
    with translation.override("en"):
        return shown(reason)


def _grouped(value):
    return number_format(value, force_grouping=True) if isinstance(value, int) else value
