"""Reading Persian comments: spelling normalised, verbs and their negation found, the
project's own lexicon (`lexicons/fa_customer.tsv`) and emoji (`lexicons/emoji.tsv`) scored.

Plain Python, no model: TextBlob and VADER see only unknown words in Persian and score
nearly every comment exactly 0. How the cues found here become a polarity is in
`sentiment.engine`.

Persian puts the negation on the verb, after what it denies: "خوب نبود" (was not good),
"کیفیت خوبی نداشت" (had no good quality), "دوست نداشتم" (did not like). So a negated verb
turns round the sentiment words just before it, in its clause; with none to turn round it
is a complaint of its own ("نوشابه نرسید": the drink did not come).
"""

import re
from dataclasses import dataclass
from functools import lru_cache

from sentiment.lexicons import load_lexicon

# --- spelling ----------------------------------------------------------------------------

_LETTERS = {
    "ي": "ی",
    "ى": "ی",
    "ئ": "ی",
    "ك": "ک",
    "ة": "ه",
    "ۀ": "ه",
    "أ": "ا",
    "إ": "ا",
    "ٱ": "ا",
    "آ": "ا",
    "ؤ": "و",
    "ـ": "",  # tatweel, the stretching stroke
    "\u200c": "",  # zero-width non-joiner: می‌کنم and میکنم are the same word
    "\u200d": "",
    "\u200e": "",
    "\u200f": "",
    "\u00a0": " ",
    "\u200b": " ",
}
_LETTERS.update({chr(code): "" for code in range(0x064B, 0x0660)})  # short vowels, shadda, hamza marks
_LETTERS.update({"\u0670": ""})
_LETTERS.update({persian: str(digit) for digit, persian in enumerate("۰۱۲۳۴۵۶۷۸۹")})
_LETTERS.update({arabic: str(digit) for digit, arabic in enumerate("٠١٢٣٤٥٦٧٨٩")})
_TRANSLATION = str.maketrans(_LETTERS)
_REPEATS = re.compile(r"([^\W\d_])\1{2,}")  # عاااالی, خیلیییی
# Prefixes and suffixes people write apart with a space instead of a non-joiner.
_DETACHED_PREFIX = re.compile(r"(?<!\w)(نمی|می|بی|غیر|نا) (?=\w)")
_DETACHED_SUFFIX = re.compile(r"(?<=\w) (ها|های|هایی|تر|ترین|ای)(?!\w)")


def normalize(text: str) -> str:
    """One spelling for the same word: Persian letters (ی ک, not Arabic ي ك), no diacritics
    or tatweel, ASCII digits, no zero-width non-joiners (a word's parts are written
    together), repeated letters cut to one, detached می/نمی/بی/نا and ها/تر/ترین joined on
    ("نا مناسب" is "نامناسب")."""
    if text.isascii():  # English: nothing to translate or join on, a third of the time
        return _REPEATS.sub(r"\1", text.lower())
    text = text.translate(_TRANSLATION).lower()
    text = _REPEATS.sub(r"\1", text)
    text = _DETACHED_PREFIX.sub(r"\1", text)
    return _DETACHED_SUFFIX.sub(r"\1", text)


_TOKEN = re.compile(r"\w+|[.!?؟،,;؛:()\n]")
_CLAUSE_END = frozenset(".!?؟،,;؛:()\n")


def tokenize(text: str) -> list[str]:
    """Words and clause-ending punctuation of normalised text."""
    return _TOKEN.findall(text)


# --- verbs ---------------------------------------------------------------------------------

# infinitive: (past stems, present stems); colloquial stems beside the written ones.
_VERBS = {
    "بودن": (["بود"], ["باش"]),
    "داشتن": (["داشت"], ["دار"]),
    "کردن": (["کرد"], ["کن"]),
    "شدن": (["شد"], ["شو", "ش"]),
    "دادن": (["داد"], ["ده", "د"]),
    "رسیدن": (["رسید"], ["رس"]),
    "خوردن": (["خورد"], ["خور"]),
    "امدن": (["امد", "یامد", "اومد", "یومد"], ["یا", "یای"]),
    "اوردن": (["اورد", "یاورد"], ["یار", "یاور"]),
    "ارزیدن": (["ارزید"], ["ارز"]),
    "چسبیدن": (["چسبید"], ["چسب"]),
    "پسندیدن": (["پسندید"], ["پسند"]),
    "خریدن": (["خرید"], ["خر"]),
    "گرفتن": (["گرفت"], ["گیر"]),
    "زدن": (["زد"], ["زن"]),
    "کشیدن": (["کشید"], ["کش"]),
    "دیدن": (["دید"], ["بین"]),
    "بردن": (["برد"], ["بر"]),
    "گذاشتن": (["گذاشت", "ذاشت"], ["گذار", "ذار"]),
    "توانستن": (["توانست", "تونست"], ["توان", "تون"]),
    "خواستن": (["خواست"], ["خواه", "خوا"]),
    "دانستن": (["دانست", "دونست"], ["دان", "دون"]),
    "گفتن": (["گفت"], ["گو", "گ"]),
    "فرستادن": (["فرستاد"], ["فرست"]),
    "پختن": (["پخت"], ["پز"]),
    "ساختن": (["ساخت"], ["ساز"]),
    "افتادن": (["افتاد"], ["افت"]),
    "شکستن": (["شکست"], ["شکن"]),
    "سوختن": (["سوخت"], ["سوز"]),
    "رفتن": (["رفت"], ["رو"]),
}
_PAST_ENDINGS = ["", "م", "ی", "یم", "ید", "ین", "ند", "ن", "ه", "هام", "های", "هایم", "هاید", "هاند", "ست"]
_PRESENT_ENDINGS = ["", "م", "ی", "د", "ه", "یم", "ید", "ین", "ند", "ن"]
_TO_BE = {"است": False, "هست": False, "نیست": True, "نیس": True}
_TO_BE_ENDINGS = ["", "م", "ی", "یم", "ید", "ین", "ند", "ن"]


def _verb_forms() -> dict[str, tuple[str, bool]]:
    """Every written form of the verbs above: form -> (infinitive, negated)."""
    forms: dict[str, tuple[str, bool]] = {}
    for infinitive, (past_stems, present_stems) in _VERBS.items():
        for stem in past_stems:
            for ending in _PAST_ENDINGS:
                for prefix, negated in (("", False), ("می", False), ("ن", True), ("نمی", True)):
                    forms.setdefault(prefix + stem + ending, (infinitive, negated))
        for stem in present_stems:
            for ending in _PRESENT_ENDINGS:
                # A bare present stem is another word (کن, بین, رو, ده); only prefixed forms count,
                # except the two verbs used bare in the present: دارم, هست.
                prefixes = [("می", False), ("ب", False), ("ن", True), ("نمی", True)]
                if infinitive == "داشتن" and ending:
                    prefixes.append(("", False))
                for prefix, negated in prefixes:
                    forms.setdefault(prefix + stem + ending, (infinitive, negated))
    for stem, negated in _TO_BE.items():
        for ending in _TO_BE_ENDINGS:
            forms.setdefault(stem + ending, ("بودن", negated))
    # Colloquial آمدن and آوردن drop the stem's first letter: میاد، نمیاره.
    for ending in _PRESENT_ENDINGS:
        for prefix, negated in (("می", False), ("نمی", True)):
            forms.setdefault(prefix + "ا" + ending, ("امدن", negated))
            forms.setdefault(prefix + "ار" + ending, ("اوردن", negated))
    # Forms that are far more often another word: بد (bad), بدن (body), بده (is bad).
    for other_word in ("بد", "بدی", "بده", "بدن", "بدم"):
        forms.pop(other_word, None)
    return forms


VERB_FORMS = _verb_forms()


def negated_verb(token: str) -> bool:
    """نبود، نیست، نمی‌کنم، ندارد: a verb with the negative prefix."""
    found = VERB_FORMS.get(token)
    if found is not None:
        return found[1]
    return token.startswith("نمی") and len(token) > 4


# --- lexicon -------------------------------------------------------------------------------

_SUFFIXES = sorted(
    ["ترین", "تر", "هایی", "های", "ها", "اش", "ای", "یه", "ست", "س", "ه", "ی", "ش", "م", "ن", "مون", "تون", "شون"],
    key=len,
    reverse=True,
)
NEGATORS_BEFORE = frozenset({"بدون", "نه", "بی"})  # turn round the word after them
EMPHASIS = {
    **dict.fromkeys(["خیلی", "بسیار", "واقعا", "کاملا", "حسابی", "شدیدا", "بینهایت", "انقدر", "اینقدر"], 1.3),
    **dict.fromkeys(["چقدر", "زیادی", "کلا"], 1.2),
    **dict.fromkeys(["اصلا", "هیچ", "ابدا", "هرگز"], 1.4),
    **dict.fromkeys(["نسبتا", "کمی", "یکم", "یکمی", "تقریبا", "چندان", "بعضا"], 0.6),
}
CONTRAST = frozenset({"ولی", "اما", "لیکن", "ولیکن", "منتها", "منتهی"})
NEGATED_POSITIVE = -0.8  # "خوب نبود" reads close to "بد"
NEGATED_NEGATIVE = -0.5  # "بد نبود" is faint praise
NEGATION_REACH = 3  # words before a negated verb that it can turn round
BEFORE_CONTRAST, AFTER_CONTRAST = 0.5, 1.5


def _verb_key(token: str) -> str | None:
    found = VERB_FORMS.get(token)
    if found is None:
        return None
    infinitive, negated = found
    return "ن" + infinitive if negated else infinitive


def _lexicon_key(phrase: str) -> str:
    """A lexicon term in the form text is matched in: normalised, verbs as infinitives."""
    words = tokenize(normalize(phrase))
    return " ".join(_verb_key(word) or word for word in words)


LEXICON = {_lexicon_key(term): value for term, value in load_lexicon("fa_customer.tsv").items()}
_PHRASE_WORDS = frozenset(word for term in LEXICON for word in term.split())
_PHRASE_STARTS = frozenset(term.split()[0] for term in LEXICON if " " in term)
_LONGEST_TERM = max(term.count(" ") + 1 for term in LEXICON)


def _emoji_lexicon() -> tuple[dict[str, float], re.Pattern[str]]:
    emoji = load_lexicon("emoji.tsv")
    pattern = re.compile("|".join(re.escape(symbol) for symbol in sorted(emoji, key=len, reverse=True)))
    return emoji, pattern


EMOJI, _EMOJI_PATTERN = _emoji_lexicon()


@lru_cache(maxsize=50_000)  # distinct words of recent comments: a few MB
def _word_form(token: str) -> tuple[str, bool, bool]:
    """(form to match, is a verb, is a negated verb). Verbs become infinitives; other words
    lose the endings (ها، تر، ترین، ـه، ـش ...) that hide a lexicon word."""
    verb = _verb_key(token)
    if verb is not None:
        return verb, True, negated_verb(token)
    if token.startswith("نمی") and len(token) > 4:
        return token, True, True
    if token in LEXICON or token in _PHRASE_WORDS or token in EMPHASIS:
        return token, False, False
    stem = _strip(token)
    if stem is None:
        return token, False, False
    return stem, False, False


def _strip(token: str, depth: int = 2) -> str | None:
    for suffix in _SUFFIXES:
        if token.endswith(suffix) and len(token) - len(suffix) >= 2:
            stem = token[: -len(suffix)]
            if stem in LEXICON or stem in _PHRASE_WORDS:
                return stem
            # "is" after a final ه takes its place: خوشمزست، فوق‌العادس.
            if suffix in ("ست", "س") and (stem + "ه" in LEXICON or stem + "ه" in _PHRASE_WORDS):
                return stem + "ه"
            if depth > 1 and (deeper := _strip(stem, depth - 1)) is not None:
                return deeper
    return None


# --- reading a comment -------------------------------------------------------------------------


@dataclass(frozen=True)
class Cues:
    positive: float  # sums of lexicon and emoji valences after negation, emphasis and contrast
    negative: float
    bare_negations: int  # negated verbs with no sentiment word to turn round: "نرسید"
    questions: int
    matches: int  # lexicon terms and emoji found

    @property
    def silent(self) -> bool:
        return not (self.matches or self.bare_negations)


THANKS = frozenset(normalize(word) for word in ["ممنون", "ممنونم", "مرسی", "متشکرم", "متشکر", "تشکر", "سپاس"])
THANKS |= frozenset(normalize(word) for word in ["سپاسگزارم", "سپاسگزار", "مچکرم", "ممنونیم", "مرسی از"])


@dataclass
class _Hit:
    start: int
    end: int
    value: float
    turned: bool = False


def read_cues(text: str) -> Cues:
    """Find the lexicon's terms and emoji in a comment and weigh them: emphasis before a
    term, negation (a negated verb after it, بدون/نه before it), and a contrast (ولی، اما)
    that puts the weight on what follows."""
    emoji = [EMOJI[symbol] for symbol in _EMOJI_PATTERN.findall(text.replace("\ufe0f", ""))]
    tokens = tokenize(normalize(text))
    forms = [_word_form(token) for token in tokens]
    hits: list[_Hit] = []
    verbs: list[int] = []  # positions of verbs not taken into a lexicon phrase
    negated_verbs: list[int] = []
    i = 0
    while i < len(tokens):
        if tokens[i] in _CLAUSE_END:
            i += 1
            continue
        hit = _match(forms, i)
        if hit is None:
            _, is_verb, is_negated = forms[i]
            if is_verb:
                verbs.append(i)
                if is_negated:
                    negated_verbs.append(i)
            i += 1
            continue
        if hit.value:  # a term of valence 0 only keeps its words from being read alone (نرم افزار)
            hit.value *= _emphasis(tokens, hit.start)
            hits.append(hit)
        i = hit.end

    bare = 0
    for position in negated_verbs:
        reached = [
            hit
            for hit in hits
            if position - NEGATION_REACH <= hit.start < position
            and not hit.turned
            and _same_clause(tokens, verbs, hit.end, position)
        ]
        if not reached:
            bare += 1
        for hit in reached:
            hit.value *= NEGATED_POSITIVE if hit.value > 0 else NEGATED_NEGATIVE
            hit.turned = True
    for hit in hits:
        if not hit.turned and hit.start > 0 and tokens[hit.start - 1] in NEGATORS_BEFORE:
            hit.value *= NEGATED_POSITIVE if hit.value > 0 else NEGATED_NEGATIVE

    contrast_at = max((i for i, token in enumerate(tokens) if token in CONTRAST), default=-1)
    positive = sum(value for value in emoji if value > 0)
    negative = -sum(value for value in emoji if value < 0)
    # Thanks beside a complaint are politeness, not praise: "سفارش اشتباه ارسال شد، ممنون".
    complaint = bare > 0 or negative > 0 or any(hit.value < 0 for hit in hits)
    for hit in hits:
        if complaint and hit.value > 0 and tokens[hit.start] in THANKS:
            continue
        value = hit.value
        if contrast_at >= 0:
            value *= AFTER_CONTRAST if hit.start > contrast_at else BEFORE_CONTRAST
        if value > 0:
            positive += value
        else:
            negative -= value
    questions = text.count("?") + text.count("؟")
    return Cues(positive, negative, bare, questions, len(hits) + len(emoji))


def _match(forms: list[tuple[str, bool, bool]], start: int) -> _Hit | None:
    longest = min(_LONGEST_TERM, len(forms) - start) if forms[start][0] in _PHRASE_STARTS else 1
    for length in range(longest, 0, -1):
        words = [form for form, _, _ in forms[start : start + length]]
        term = " ".join(words)
        if term in LEXICON:
            return _Hit(start, start + length, LEXICON[term])
        _, is_verb, is_negated = forms[start + length - 1]
        if is_verb and is_negated and words[-1].startswith("ن"):
            # دوست نداشتم: the lexicon has دوست داشتن, the verb turns it round.
            words[-1] = words[-1][1:]
            term = " ".join(words)
            if term in LEXICON:
                value = LEXICON[term]
                value *= NEGATED_POSITIVE if value > 0 else NEGATED_NEGATIVE
                return _Hit(start, start + length, value, turned=True)
    return None


def _emphasis(tokens: list[str], start: int) -> float:
    factor = 1.0
    for token in tokens[max(0, start - 2) : start]:
        factor *= EMPHASIS.get(token, 1.0)
    return factor


def _same_clause(tokens: list[str], verbs: list[int], after: int, before: int) -> bool:
    """No clause end, contrast or other verb between the two positions."""
    between = range(after, before)
    if any(tokens[i] in _CLAUSE_END or tokens[i] in CONTRAST for i in between):
        return False
    return not any(after <= verb < before for verb in verbs)
