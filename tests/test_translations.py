"""The Persian texts: every one translated, and the compiled catalogue in step with the source."""

import polib
from django.utils import translation

from tests.conftest import ROOT

CATALOGUE = ROOT / "locale" / "fa" / "LC_MESSAGES" / "django.po"


def test_every_persian_text_is_translated_and_compiled():
    entries = [entry for entry in polib.pofile(str(CATALOGUE)) if not entry.obsolete]

    assert entries
    assert [entry.msgid for entry in entries if not entry.msgstr or entry.fuzzy] == []
    with translation.override("fa"):
        # Served from django.mo: a text edited in the .po but not compiled shows up here.
        stale = [entry.msgid for entry in entries if translation.gettext(entry.msgid) != entry.msgstr]
    assert stale == [], "run `make messages` to compile locale/fa"
