"""What a comment is about (delivery, price, quality …) and how it feels about each.

A theme is found by its words, in English or Persian (Persian matched after normalisation,
so ي/ی, ZWNJ and attached suffixes don't hide a word). Its sentiment is the analyzer's
reading of the clauses that mention it, not of the whole comment: "fast delivery but the
box was crushed" is positive about delivery and negative about packaging.
"""

import re
from dataclasses import dataclass
from functools import cache

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
    """Theme words ready to match: English lower-cased, Persian normalised."""

    english: dict[str, list[re.Pattern[str]]]
    persian: dict[str, list[tuple[str, bool]]]  # (normalised word, is a compound)


def vocabulary(extra: dict[str, dict[str, list[str]]] | None = None) -> Vocabulary:
    """The built-in themes plus a shop's own (`{"name": {"en": [...], "fa": [...]}}`)."""
    if not extra:
        return _built_in_vocabulary()
    return _vocabulary(extra)


@cache
def _built_in_vocabulary() -> Vocabulary:
    # Most shops add no themes: their words are compiled once a process, not once a comment.
    return _vocabulary({})


def _vocabulary(extra: dict[str, dict[str, list[str]]]) -> Vocabulary:
    merged: dict[str, dict[str, list[str]]] = {name: {**words} for name, words in BUILT_IN.items()}
    for name, words in (extra or {}).items():
        entry = merged.setdefault(name, {"en": [], "fa": []})
        for language in ("en", "fa"):
            entry[language] = [*entry.get(language, []), *words.get(language, [])]
    english = {name: [_english_word(word) for word in words.get("en", []) if word] for name, words in merged.items()}
    persian = {
        name: [_persian_word(word) for word in words.get("fa", []) if word.strip()] for name, words in merged.items()
    }
    return Vocabulary(english=english, persian=persian)


def _persian_word(word: str) -> tuple[str, bool]:
    # Persian writes a compound with a space, a ZWNJ or nothing (بسته بندی، بسته‌بندی، بستهبندی).
    normal = normalize(word).strip()
    return normal.replace(" ", ""), " " in normal or "\u200c" in word


def _english_word(word: str) -> re.Pattern[str]:
    # Whole words, with their plural or past forms: "late" is not "latest".
    return re.compile(rf"\b{re.escape(word)}(?:s|es|ed|d|ing)?\b", re.IGNORECASE)


def themes_of(text: str, words: Vocabulary) -> list[ThemeMention]:
    """Each theme the text mentions, with the sentiment of the clauses that mention it."""
    clauses = [clause.strip() for clause in _CLAUSES.split(text) if clause and clause.strip()]
    mentions = []
    for name in words.english:
        about = [clause for clause in clauses if _mentions(clause, name, words)]
        if not about:
            continue
        reading = engine.analyze(". ".join(about))
        mentions.append(ThemeMention(theme=name, polarity=reading.polarity, label=reading.label))
    return mentions


def _mentions(clause: str, theme: str, words: Vocabulary) -> bool:
    if any(pattern.search(clause) for pattern in words.english[theme]):
        return True
    persian = f" {normalize(clause)}"
    joined = persian.replace(" ", "")
    # A single word must start a word (suffixes such as ها، تر، ی may follow); a compound is
    # looked for with the clause's spaces taken out too.
    return any((word in joined) if compound else (f" {word}" in persian) for word, compound in words.persian[theme])


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
