"""The gettext catalogues (locale/): every string marked for translation in our Python files,
templates and scripts is translated in each language, no entry is fuzzy or empty, the
placeholders match, and each compiled .mo is what its .po compiles to now (a stale .mo would
show old words: its content is compared, as mtimes mean nothing in a git clone)."""

import io
from pathlib import Path

import pytest
from babel.messages.extract import extract
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.conf import settings
from django.utils.translation.template import templatize

ROOT = Path(settings.BASE_DIR)
LANGUAGES = ["pt_BR", "es", "pl"]
OUR_CODE = ["image_parroter", "ops", "thumbnailer", "users", "templates"]
# The names Django's makemessages gives xgettext, and the ones its JavaScript catalogue has.
PYTHON_KEYWORDS = {
    "gettext": None,
    "gettext_lazy": None,
    "gettext_noop": None,
    "ngettext": (1, 2),
    "ngettext_lazy": (1, 2),
    "pgettext": ((1, "c"), 2),
    "_": None,
}
JS_KEYWORDS = {"gettext": None, "ngettext": (1, 2)}


def our_files(pattern: str) -> list[Path]:
    return [path for folder in OUR_CODE for path in (ROOT / folder).rglob(pattern)]


def marked(path: Path, method: str, keywords, source: str | None = None) -> set:
    source = path.read_text() if source is None else source
    found = extract(method, io.BytesIO(source.encode()), keywords)
    return {message for _, message, _, _ in found}


def marked_strings() -> dict[str, set]:
    python = set()
    for path in our_files("*.py"):
        python |= marked(path, "python", PYTHON_KEYWORDS)
    for path in our_files("*.html"):
        # Django turns a template into gettext calls for xgettext; flush left, babel reads it.
        calls = "\n".join(line.lstrip() for line in templatize(path.read_text()).splitlines())
        python |= marked(path, "python", PYTHON_KEYWORDS, calls)
    scripts = set()
    for path in (ROOT / "static").glob("*.js"):
        scripts |= marked(path, "javascript", JS_KEYWORDS)
    return {"django": python, "djangojs": scripts}


MARKED = marked_strings()
CATALOGUES = [(language, domain) for language in LANGUAGES for domain in MARKED]


def catalogue(language: str, domain: str):
    with open(ROOT / "locale" / language / "LC_MESSAGES" / f"{domain}.po", "rb") as po:
        return read_po(po, locale=language)


def test_the_extraction_finds_strings_of_each_kind_of_file():
    assert "Not found" in MARKED["django"]  # a template's {% translate %}
    assert "Choose at least one size." in MARKED["django"]  # Python
    assert "The image is damaged or incomplete." in MARKED["django"]  # gettext_noop
    assert ("%(jobs)s job,", "%(jobs)s jobs,") in MARKED["django"]  # a plural blocktranslate
    assert "Remove or replace these files first:" in MARKED["djangojs"]


@pytest.mark.parametrize(("language", "domain"), CATALOGUES)
def test_every_marked_string_is_translated_in_the_catalogue(language, domain):
    messages = {message.id: message for message in catalogue(language, domain) if message.id}
    assert not MARKED[domain] - set(messages), "missing: run make messages (docs/LANGUAGES.md)"
    for message in messages.values():
        assert "fuzzy" not in message.flags, message.id
        strings = message.string if message.pluralizable else (message.string,)
        assert all(strings), f"empty: {message.id}"


@pytest.mark.parametrize(("language", "domain"), CATALOGUES)
def test_translations_keep_the_placeholders_and_the_languages_plural_forms(language, domain):
    po = catalogue(language, domain)
    assert po.num_plurals == {"pt_BR": 2, "es": 2, "pl": 3}[language]  # 1 plik, 2 pliki, 5 plików
    for message, errors in po.check():
        pytest.fail(f"{message.id}: {errors}")


@pytest.mark.parametrize(("language", "domain"), CATALOGUES)
def test_each_compiled_catalogue_is_its_po_compiled_now(language, domain):
    compiled = io.BytesIO()
    write_mo(compiled, catalogue(language, domain))
    mo = ROOT / "locale" / language / "LC_MESSAGES" / f"{domain}.mo"
    assert mo.read_bytes() == compiled.getvalue(), "stale: make compile-messages"
