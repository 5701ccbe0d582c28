"""What a comment is about (delivery, price, quality …) and how it feels about each.

A theme is found by its words, in English or Persian (Persian matched after normalisation,
so ي/ی, ZWNJ and attached suffixes don't hide a word). Its sentiment is the analyzer's
reading of the clauses that mention it, not of the whole comment: "fast delivery but the
box was crushed" is positive about delivery and negative about packaging.
"""

import re
from dataclasses import dataclass
from functools import lru_cache

from django.utils.translation import gettext_lazy as _

from sentiment import engine
from sentiment.persian import normalize

# The built-in post-purchase themes; shops add words or whole themes (sentiment.models.Theme).
BUILT_IN: dict[str, dict[str, list[str]]] = {
    "delivery": {
        "en": ["delivery", "delivered", "deliver", "courier", "shipping", "shipped", "arrived", "late", "on time"],
        "fa": ["ارسال", "تحویل", "پیک", "دیر رسید", "زود رسید", "به موقع", "پست", "رسید"],
    },
    "price": {
        "en": ["price", "expensive", "cheap", "cost", "overpriced", "value for money", "discount"],
        "fa": ["قیمت", "گران", "گرون", "ارزان", "ارزون", "هزینه", "تخفیف"],
    },
    "quality": {
        "en": ["quality", "defective", "broken", "works well", "stopped working", "material", "durable", "fake"],
        "fa": ["کیفیت", "خراب", "سالم", "جنس", "اصل", "تقلبی", "معیوب"],
    },
    "packaging": {
        "en": ["packaging", "packed", "box", "wrapped", "wrapping", "crushed"],
        "fa": ["بسته بندی", "جعبه", "کارتن", "کادو"],
    },
    "support": {
        "en": ["support", "customer service", "staff", "rude", "helpful", "answered", "no reply", "call center"],
        "fa": ["پشتیبانی", "پاسخگو", "تماس", "برخورد", "کارمند", "جواب", "تلفن"],
    },
    "installation": {
        "en": ["install", "installation", "installed", "set up", "setup", "technician"],
        "fa": ["نصب", "راه اندازی", "تکنسین", "نصاب"],
    },
    "warranty_returns": {
        "en": ["return", "refund", "warranty", "exchange", "replacement", "replace"],
        "fa": ["مرجوع", "گارانتی", "ضمانت", "تعویض", "بازگشت وجه", "پس دادن", "پس دادم"],
    },
    "website_checkout": {
        "en": ["website", "site", "checkout", "payment", "app", "cart", "order online", "login"],
        "fa": ["سایت", "اپلیکیشن", "اپ", "پرداخت", "درگاه", "سبد خرید", "ثبت سفارش"],
    },
}

# Where one thought ends and the next begins.
_CLAUSES = re.compile(r"[.!?;,\n،؛؟]+|\s+(?:but|however|although|though|ولی|ولي|اما|ولیکن|منتها)\s+", re.IGNORECASE)


@dataclass(frozen=True)
class ThemeMention:
    theme: str
    polarity: float
    label: str


@dataclass(frozen=True)
class Vocabulary:
    """Theme words ready to match: English as one pattern a theme (and one for them all),
    Persian normalised, single words with the space that must come before them."""

    names: tuple[str, ...]
    any_english: re.Pattern[str] | None
    english: dict[str, re.Pattern[str] | None]
    persian_words: dict[str, re.Pattern[str] | None]  # " word": must start a word
    persian_compounds: dict[str, re.Pattern[str] | None]  # looked for with the spaces taken out


def vocabulary(extra: dict[str, dict[str, list[str]]] | None = None) -> Vocabulary:
    """The built-in themes plus a shop's own (`{"name": {"en": [...], "fa": [...]}}`)."""
    if not extra:
        return _vocabulary(())
    return _vocabulary(
        tuple((name, tuple(words.get("en", [])), tuple(words.get("fa", []))) for name, words in extra.items())
    )


# Words are compiled once a process for the built-in themes and once per set of a shop's
# own, not once a comment.
@lru_cache(maxsize=256)
def _vocabulary(extra: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]) -> Vocabulary:
    merged: dict[str, dict[str, list[str]]] = {name: {**words} for name, words in BUILT_IN.items()}
    for name, english_words, persian_words in extra:
        entry = merged.setdefault(name, {"en": [], "fa": []})
        entry["en"] = [*entry.get("en", []), *english_words]
        entry["fa"] = [*entry.get("fa", []), *persian_words]
    english = {name: [word for word in words.get("en", []) if word] for name, words in merged.items()}
    persian = {
        name: [_persian_word(word) for word in words.get("fa", []) if word.strip()] for name, words in merged.items()
    }
    return Vocabulary(
        names=tuple(merged),
        any_english=_english_words([word for words in english.values() for word in words]),
        english={name: _english_words(words) for name, words in english.items()},
        persian_words={
            name: _any_of([f" {word}" for word, compound in words if not compound]) for name, words in persian.items()
        },
        persian_compounds={
            name: _any_of([word for word, compound in words if compound]) for name, words in persian.items()
        },
    )


def _persian_word(word: str) -> tuple[str, bool]:
    # Persian writes a compound with a space, a ZWNJ or nothing (بسته بندی، بسته‌بندی، بستهبندی).
    normal = normalize(word).strip()
    return normal.replace(" ", ""), " " in normal or "\u200c" in word


def _any_of(strings: list[str]) -> re.Pattern[str] | None:
    # Finds where any of the strings is: one search instead of a substring test for each.
    return re.compile("|".join(re.escape(string) for string in strings)) if strings else None


def _english_words(words: list[str]) -> re.Pattern[str] | None:
    # Whole words, with their plural or past forms: "late" is not "latest". One alternation
    # finds a clause that any of the words would (the engine backtracks into each).
    if not words:
        return None
    either = "|".join(re.escape(word) for word in words)
    return re.compile(rf"\b(?:{either})(?:s|es|ed|d|ing)?\b", re.IGNORECASE)


def themes_of(text: str, words: Vocabulary, *, analysis: engine.Sentiment | None = None) -> list[ThemeMention]:
    """Each theme the text mentions, with the sentiment of the clauses that mention it.

    `analysis` is `engine.analyze(text)` when the caller has it already: a theme mentioned in
    every clause of a one-clause comment is read from it."""
    clauses = [clause.strip() for clause in _CLAUSES.split(text) if clause and clause.strip()]
    # A clause is a stretch of the text between non-word characters, so an English word found
    # in a clause is found in the whole text too: most themes are ruled out in one search.
    english_in_text = words.any_english is not None and words.any_english.search(text) is not None
    normalised = [f" {normalize(clause)}" for clause in clauses]
    joined = [persian.replace(" ", "") for persian in normalised]
    readings = {text: analysis} if analysis is not None else {}
    mentions = []
    for name in words.names:
        english = words.english[name] if english_in_text else None
        if english is not None and english.search(text) is None:
            english = None
        singles, compounds = words.persian_words[name], words.persian_compounds[name]
        about = [
            clause
            for clause, persian, together in zip(clauses, normalised, joined, strict=True)
            if (english is not None and english.search(clause))
            or (singles is not None and singles.search(persian))
            or (compounds is not None and compounds.search(together))
        ]
        if not about:
            continue
        said = ". ".join(about)
        reading = readings.get(said)
        if reading is None:
            reading = readings[said] = engine.analyze(said)
        mentions.append(ThemeMention(theme=name, polarity=reading.polarity, label=reading.label))
    return mentions


_LABELS = {
    "delivery": _("Delivery"),
    "price": _("Price"),
    "quality": _("Quality"),
    "packaging": _("Packaging"),
    "support": _("Support"),
    "installation": _("Installation"),
    "warranty_returns": _("Warranty and returns"),
    "website_checkout": _("Website and checkout"),
}


def theme_label(name: str) -> str:
    """A theme as people read it, in the active language; a shop's own theme by its name."""
    return str(_LABELS.get(name, name.replace("_", " ").capitalize()))
