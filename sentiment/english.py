"""Reading an English comment word by word, in plain Python.

TextBlob and VADER are imported in `sentiment.engine` only; it hands this module VADER's
word list (with the project's overrides) to read under the project's customer-review
lexicon (`lexicons/en_customer.tsv`: faults, returns, support lines, delivery, and the
wishes and warnings that mean something is wrong), whose reading of a term wins. VADER's
own rules miss much of how a customer writes, so the reading applies its own:

- a negator reaches NEGATION_SCOPE words (not counting "a", "any", "single", "major" ...),
  stops at the end of a clause and goes on past "or" ("not slow or noisy"); praise it turns
  round that "enough" follows stays praise ("can't praise it highly enough"); "no" is a
  negator, not a negative word, so "I have had no real problems with it" is praise;
  "refused to" and "failed to" negate what follows;
  a phrase that starts with a negator ("no complaints", "can't go wrong") is read whole;
  "hardly", "barely", "rarely", "minimal", "few" and "little" (but not "a few", "a little")
  turn round what they reach as a negator does ("barely works", "very minimal difficulty");
- what a negator turns round is kept apart (`negated_positive`, `negated_negative`) and
  counted milder than the word itself ("not good" is milder than "bad");
- praise after "would", "could", "should", "might" or "wish" in the same clause is what the
  product lacks ("a bigger screen would have been nice"): kept apart as `wanted`, it does
  not count as praise;
- "too" before a word is a complaint ("too small"), and so is "back" a few words after
  "sent", "took", "returned" ("sent the unit back"), a short life told as a fact
  ("worked for two weeks", "great for the first three hours", "stopped charging"), and
  something better than the thing reviewed ("a much better player than this");
- intensifiers scale the word after them; after the last "but" or "however" the writer
  says what they mean;
- a negator that reaches no sentiment word ("it doesn't turn on") and a question are
  counted: complaints with no sentiment word at all;
- "never" before "so", "such" or a comparative emphasises, it does not turn round ("never
  been treated so badly", "never had a better steak"); "no one" and "nobody" reach the
  end of their clause ("no one was able to help me");
- praise hedged with "at best" is none ("fair at best"); thanks beside a complaint are
  politeness or sarcasm, not praise ("thanks for losing my bag"); and what the customer
  only wishes for ("a reply would be wonderful") counts a little against.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass

from sentiment.lexicons import load_lexicon

_TOKEN = re.compile(r"[a-z0-9]+(?:['\-][a-z]+)*|[.,;:!?()]")
_CLAUSE_END = frozenset(".,;:!?()")
# Besides these, every word ending in n't.
NEGATORS = frozenset(
    ["not", "no", "never", "nothing", "none", "nobody", "nowhere", "neither", "nor", "without", "cannot"]
)
_STRONGER = ["very", "really", "so", "extremely", "super", "incredibly", "absolutely", "totally", "completely"]
_STRONGER += ["highly", "truly", "most", "especially", "particularly", "amazingly", "exceptionally", "utterly"]
_WEAKER = ["somewhat", "slightly", "fairly", "kinda", "rather", "little", "bit", "partly", "minor", "slight"]
BOOSTERS = {**dict.fromkeys(_STRONGER, 1.3), **dict.fromkeys(_WEAKER, 0.6)}
# How far a negator reaches, in words, and what it does to a word it reaches: "not good" is
# milder than "bad", "not bad" milder still than "good" (VADER's figures are close to these).
NEGATION_SCOPE = 3
NEGATED_POSITIVE = -0.7
NEGATED_NEGATIVE = -0.5
# After "but" the writer says what they mean: "good sound but it broke in a week".
CONTRAST = frozenset(["but", "however"])
BEFORE_BUT, AFTER_BUT = 0.5, 1.5
# Praise after these is a wish: "a zoom would be nice", "it should feel more solid".
COUNTERFACTUAL = frozenset(["would", "could", "should", "might", "wish", "wished", "i'd", "you'd", "it'd", "we'd"])
WANTED = 0.3  # what a wish praises counts this much against: the thing is missing
# "Never" before these emphasises: "never been treated so badly", "never had such a cold meal".
_EMPHASIS = frozenset(["so", "such", "more", "this", "that"])
_COMPARATIVES = frozenset(["better", "best", "worse", "worst", "happier", "nicer", "tastier", "faster", "friendlier"])
# Negators that reach the end of their clause: "no one was able to help me".
_WHOLE_CLAUSE = frozenset(["nobody", "noone"])
# Thanks beside a complaint are politeness or sarcasm: "thanks for losing my bag".
THANKS = frozenset(["thanks", "thank you", "thank", "thx", "cheers", "appreciate it", "appreciated"])
TOO = -1.0  # "too" before a word: "too small", "too loud"
# "Sent the unit back", "took it back to the store": "back" after one of these verbs.
SENDING = frozenset(["send", "sent", "sending", "return", "returned", "returning", "take", "took", "taking", "ship"])
SENDING |= frozenset(["shipped", "bring", "brought", "mail", "mailed"])
SENT_BACK = -2.0
_SENDING_REACH = 4  # words between the verb and "back"
# "It worked for two weeks", "lasted a month": a short life told as a plain fact.
# "Great - for the first three hours" too; and "stopped playing", "stops charging".
_SHORT_LIFE = re.compile(
    r"\b(?:(?:worked|lasted|survived|died after|broke after|quit after)(?: for)?(?: only| just| about| maybe)?"
    r"|for the first) (?:a|an|one|two|three|four|five|six|a few|a couple of|few|\d+)(?: more)?"
    r" (?:hours?|days?|weeks?|months?|uses?)\b"
    r"|\b(?:stopped|stoppped|stops|quit|quits) \w+ing\b"
)
# "You can find a much better player than this": better than what is reviewed is a complaint.
_BETTER_THAN_THIS = re.compile(r"\bbetter (?:[a-z0-9'-]+ ){0,4}than (?:this|that|these|it|mine)\b")
BETTER_THAN_THIS = -2.0
SHORT_LIFE = -2.0
# VADER's valences run -4..4, the customer lexicon's -3..3.
GENERAL_SCALE = 0.75


@dataclass(frozen=True)
class Lexicon:
    """Terms (a word or a phrase of a few words) and their valences, -3..3, ready to match."""

    valences: dict[str, float]
    longest: int  # words in the longest phrase
    phrase_starts: frozenset[str]

    @classmethod
    def of(cls, valences: dict[str, float]) -> "Lexicon":
        return cls(
            valences=valences,
            longest=max((term.count(" ") + 1 for term in valences), default=1),
            phrase_starts=frozenset(term.split()[0] for term in valences if " " in term),
        )


# Finglish (Persian in Latin letters) first: where a word is in both, the English reading wins.
CUSTOMER_TERMS = {**load_lexicon("fa_finglish.tsv"), **load_lexicon("en_customer.tsv")}


def with_general_words(general: Mapping[str, float]) -> Lexicon:
    """The customer lexicon over a general one (VADER's, -4..4): where both have a term the
    customer lexicon's reading of it wins."""
    valences = {
        word: value * GENERAL_SCALE
        for word, value in general.items()
        if value and _TOKEN.fullmatch(word) and not is_negator(word)  # VADER lists "no" as a negative word
    }
    valences.update(CUSTOMER_TERMS)
    return Lexicon.of(valences)


CUSTOMER = Lexicon.of(dict(CUSTOMER_TERMS))


@dataclass(frozen=True)
class Cues:
    positive: float  # sums of valences, intensity and "but" applied, neither negated nor wished for
    negative: float
    negated_positive: float  # "not good", "doesn't work well"
    negated_negative: float  # "no problems", "not bad", "never had an issue"
    wanted: float  # praise after would / could / should / wish: what the product lacks
    bare_negations: int  # negators with no sentiment word in reach: "it doesn't turn on"
    questions: int
    matches: int  # lexicon terms found

    @property
    def balance(self) -> float:
        """Positive minus negative, what negation turned round counted as turned."""
        turned = NEGATED_POSITIVE * self.negated_positive - NEGATED_NEGATIVE * self.negated_negative
        return self.positive - self.negative + turned - WANTED * self.wanted


def tokenize(text: str) -> list[str]:
    tokens = _TOKEN.findall(text.lower().replace("’", "'"))
    return [_CONTRACTIONS.get(token, token) for token in tokens]


# People type "dont"; the lexicon is written with the apostrophe.
_CONTRACTIONS = {
    word.replace("'", ""): word
    for word in (
        *["don't", "doesn't", "didn't", "isn't", "wasn't", "aren't", "weren't", "won't", "wouldn't"],
        *["couldn't", "shouldn't", "hasn't", "haven't", "hadn't", "can't", "ain't"],
    )
}


def is_negator(token: str) -> bool:
    return token in NEGATORS or token.endswith("n't")


# "Hardly any noise", "very minimal difficulty", "rarely drops a call", "few problems": these
# turn a word round as a negator does ("barely works" is a complaint), but one that reaches
# no sentiment word is no complaint ("I rarely use the zoom"). "A little" and "a few" are
# not among them: "a little slow" is a milder "slow".
DIMINISHERS = frozenset(["hardly", "barely", "scarcely", "rarely", "seldom", "minimal", "minimally", "little", "few"])


def _diminishes(tokens: list[str], i: int) -> bool:
    return tokens[i] in DIMINISHERS and not (i and tokens[i - 1] == "a")


# "It refused to play", "failed to charge": a negator when "to" follows ("refused to die" is praise).
_NEGATING_VERBS = frozenset(["refuse", "refuses", "refused", "fail", "fails", "failed"])
# "Not difficult or slow", "no scratches nor dents": the negation goes on past these.
_NEGATION_GOES_ON = frozenset(["or", "nor"])
# Words a negation's reach does not count: "never had any real problems with it".
_PASSED_OVER = frozenset(["a", "an", "the", "any", "single", "real", "major", "serious", "big", "much", "many"])
# "Can't praise it highly enough": a negated praise that "enough" follows is praise.
_ENOUGH_REACH = 4


def read_cues(text: str, *, lexicon: Lexicon = CUSTOMER) -> Cues:
    """Read `text` with `lexicon` (by default the customer lexicon alone)."""
    tokens = tokenize(text)
    valences = lexicon.valences
    but_at = max((i for i, token in enumerate(tokens) if token in CONTRAST), default=-1)
    hedged = _hedged(tokens)
    short_lives = _short_lives(tokens)
    sums = {"positive": 0.0, "negative": 0.0, "negated_positive": 0.0, "negated_negative": 0.0, "wanted": 0.0}
    thanks = 0.0  # of "positive", what thanks added
    matches = bare = 0
    negated_until = -1  # index of the last token a negator reaches
    negator = ""
    negation_found_word = True
    wishing = False  # a counterfactual earlier in this clause
    i = 0
    while i < len(tokens):
        word = tokens[i]
        if word in _CLAUSE_END:
            if not negation_found_word:
                bare += 1
                negation_found_word = True
            negated_until, wishing = -1, False
            i += 1
            continue
        if i <= negated_until and word in _NEGATION_GOES_ON:
            negated_until = i + NEGATION_SCOPE
        elif i <= negated_until and word in _PASSED_OVER:
            negated_until += 1  # "haven't had a single problem", "no major complaints"
        negating_verb = word in _NEGATING_VERBS and i + 1 < len(tokens) and tokens[i + 1] == "to"
        term, length = (None, 1) if negating_verb else _match(tokens, i, lexicon)
        if term is None:
            if negating_verb or is_negator(word):
                if not negation_found_word:
                    bare += 1
                negated_until, negation_found_word, negator = i + NEGATION_SCOPE, False, word
                if word in _WHOLE_CLAUSE or (word == "no" and tokens[i + 1 : i + 2] == ["one"]):
                    negated_until = _clause_end(tokens, i)
            elif _diminishes(tokens, i):
                negated_until = i + NEGATION_SCOPE
            elif word in COUNTERFACTUAL:
                wishing = True
            elif word in CONTRAST:
                wishing = False
            if i in short_lives:
                value = SHORT_LIFE
            elif word == "too" and i + 1 < len(tokens) and tokens[i + 1] not in _CLAUSE_END:
                value = TOO
            elif word == "back" and any(verb in SENDING for verb in tokens[max(0, i - _SENDING_REACH) : i]):
                value = SENT_BACK
            else:
                i += 1
                continue
        else:
            value = valences[term]
        value *= BOOSTERS.get(tokens[i - 1], 1.0) if i else 1.0
        if but_at >= 0:
            value *= AFTER_BUT if i > but_at else BEFORE_BUT
        if i in hedged and value > 0:  # "fair at best": the hedge is the reading
            i += length
            continue
        matches += 1
        if i <= negated_until and negator == "never" and _emphasised(tokens, i, negated_until):
            negated_until = -1
            value *= BOOSTERS["very"]
        if i <= negated_until and value > 0 and "enough" in tokens[i + length : i + length + _ENOUGH_REACH]:
            negated_until = -1
        if i <= negated_until:
            negation_found_word = True
            negated_until = max(negated_until, i + length + 1)  # an "or" just after goes on negating
            sums["negated_positive" if value > 0 else "negated_negative"] += abs(value)
        elif wishing and value > 0:
            sums["wanted"] += value
        elif value > 0:
            sums["positive"] += value
            if term in THANKS:
                thanks += value
        else:
            sums["negative"] -= value
        i += length
    if not negation_found_word:
        bare += 1
    if thanks and (sums["negative"] or sums["negated_positive"]):
        sums["positive"] -= thanks
    if "than" in tokens and _BETTER_THAN_THIS.search(" ".join(tokens)):
        sums["negative"] -= BETTER_THAN_THIS
        matches += 1
    return Cues(**sums, bare_negations=bare, questions=text.count("?"), matches=matches)


def _hedged(tokens: list[str]) -> set[int]:
    """Where the praise is that "at best" hedges: the word before it, and the one before an
    intensifier ("really good at best")."""
    hedged = set()
    for i in range(1, len(tokens) - 1):
        if tokens[i] == "at" and tokens[i + 1] == "best":
            hedged.add(i - 1)
            if i >= 2 and tokens[i - 1] in BOOSTERS:
                hedged.add(i - 2)
    return hedged


def _short_lives(tokens: list[str]) -> set[int]:
    """Where "worked for two weeks" and the like start (the index of their verb)."""
    text = " ".join(tokens)
    starts = {match.start() for match in _SHORT_LIFE.finditer(text)}
    found, offset = set(), 0
    for index, token in enumerate(tokens):
        if offset in starts:
            found.add(index)
        offset += len(token) + 1
    return found


def _emphasised(tokens: list[str], i: int, negated_until: int) -> bool:
    """After "never", whether the word at i is emphasised rather than turned round: "so" or
    "such" before it in the negation's reach, or a comparative ("never had a better one")."""
    start = max(0, negated_until - NEGATION_SCOPE)
    return tokens[i] in _COMPARATIVES or any(token in _EMPHASIS for token in tokens[start:i])


def _clause_end(tokens: list[str], i: int) -> int:
    return next((j for j in range(i, len(tokens)) if tokens[j] in _CLAUSE_END), len(tokens))


def _match(tokens: list[str], start: int, lexicon: Lexicon) -> tuple[str | None, int]:
    longest = min(lexicon.longest, len(tokens) - start) if tokens[start] in lexicon.phrase_starts else 1
    for length in range(longest, 0, -1):
        term = " ".join(tokens[start : start + length])
        if term in lexicon.valences:
            return term, length
    return None, 1
