"""The Persian texts: every one translated, and the compiled catalogue in step with the source."""

import re

import polib
from django.utils import translation

from tests.conftest import ROOT

CATALOGUE = ROOT / "locale" / "fa" / "LC_MESSAGES" / "django.po"


def test_every_persian_text_is_translated_and_compiled():
    entries = [entry for entry in polib.pofile(str(CATALOGUE)) if not entry.obsolete]

    assert entries
    assert [entry.msgid for entry in entries if not _translated(entry) or entry.fuzzy] == []
    with translation.override("fa"):
        # Served from django.mo: a text edited in the .po but not compiled shows up here.
        stale = [entry.msgid for entry in entries if _served(entry) != _first_form(entry)]
    assert stale == [], "run `make messages` to compile locale/fa"


def _translated(entry: polib.POEntry) -> bool:
    if entry.msgid_plural:  # every plural form
        return bool(entry.msgstr_plural) and all(entry.msgstr_plural.values())
    return bool(entry.msgstr)


def _first_form(entry: polib.POEntry) -> str:
    return entry.msgstr_plural[0] if entry.msgid_plural else entry.msgstr


def _served(entry: polib.POEntry) -> str:
    if entry.msgid_plural:
        return translation.ngettext(entry.msgid, entry.msgid_plural, 1)
    return translation.gettext(entry.msgid)


def test_a_latin_word_before_persian_digits_is_kept_apart_from_them():
    # Right to left, "NPS ۰" is one left-to-right run and "منتقد (NPS ۰ تا ۶)" would read
    # "منتقد (۰ NPS تا ۶)"; a right-to-left mark between them keeps the digits in the sentence.
    joined = re.compile(r"[A-Za-z]+ [۰-۹]")
    entries = [entry for entry in polib.pofile(str(CATALOGUE)) if not entry.obsolete]

    assert [entry.msgstr for entry in entries if joined.search(entry.msgstr)] == []
