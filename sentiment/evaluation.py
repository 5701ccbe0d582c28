"""Measuring analyzers on labelled comments: reading the labelled files, binary metrics.

The binary convention: an analyzer says "positive" iff its polarity is above its threshold
and it found something (a `no_signal` result counts as negative: most comments without a
sentiment word are complaints). AUC is computed from polarity.

Four formats are read, told apart by their content:
- vader:     `id<TAB>mean<TAB>text`, mean of human ratings -4..4; |mean| < 0.2 is neutral, dropped
- uci:       `sentence<TAB>0|1`, 1 = positive
- snappfood: TSV with a header `<TAB>comment<TAB>label<TAB>label_id`, label HAPPY / SAD
- sentipers: CSV without header, `"text","label"`, label -2..2; 0 is dropped, -2/-1 negative, 1/2 positive
"""

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sentiment import engine
from sentiment.engine import Sentiment

FORMATS = ("vader", "uci", "snappfood", "sentipers")
LANGUAGES = {"vader": "en", "uci": "en", "snappfood": "fa", "sentipers": "fa"}


class UnknownFormat(ValueError):
    pass


@dataclass
class LabelledSet:
    name: str
    format: str
    language: str
    texts: list[str] = field(default_factory=list)
    labels: list[bool] = field(default_factory=list)  # True = positive
    dropped: int = 0  # neutral rows left out of the binary task

    def __len__(self) -> int:
        return len(self.texts)


def read_labelled(path: Path | str) -> LabelledSet:
    path = Path(path)
    raw = path.read_text(encoding="utf-8-sig")
    return parse_labelled(raw, name=path.name)


def parse_labelled(raw: str, *, name: str = "") -> LabelledSet:
    format_ = detect_format(raw, name=name)
    labelled = LabelledSet(name=name, format=format_, language=LANGUAGES[format_])
    for text, label in _ROWS[format_](raw):
        if label is None:
            labelled.dropped += 1
        else:
            labelled.texts.append(text)
            labelled.labels.append(label)
    return labelled


def detect_format(raw: str, *, name: str = "") -> str:
    lines = [line for line in raw.splitlines() if line.strip()]
    if not lines:
        raise UnknownFormat(f"{name or 'file'}: empty")
    first = lines[0]
    columns = first.split("\t")
    if len(columns) >= 3 and columns[1].strip() == "comment" and columns[2].strip() == "label":
        return "snappfood"
    if first.startswith('"') or name.endswith(".csv"):
        row = next(csv.reader([first]))
        if len(row) == 2 and row[1].strip() in {"-2", "-1", "0", "1", "2"}:
            return "sentipers"
    if len(columns) == 3 and _is_number(columns[1]):
        return "vader"
    if len(columns) >= 2 and columns[-1].strip() in {"0", "1"}:
        return "uci"
    raise UnknownFormat(f"{name or 'file'}: not one of {', '.join(FORMATS)} (first line {first[:80]!r})")


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


Row = tuple[str, bool | None]  # text, positive (None: neutral, dropped)


def _vader_rows(raw: str) -> list[Row]:
    rows: list[Row] = []
    for line in raw.splitlines():
        if not line.strip():
            continue
        _, mean, text = line.split("\t", 2)
        value = float(mean)
        rows.append((text, None if abs(value) < 0.2 else value > 0))
    return rows


def _uci_rows(raw: str) -> list[Row]:
    rows: list[Row] = []
    for line in raw.splitlines():
        if line.strip():
            text, _, label = line.rpartition("\t")
            rows.append((text, label.strip() == "1"))
    return rows


def _snappfood_rows(raw: str) -> list[Row]:
    reader = csv.reader(io.StringIO(raw), delimiter="\t")
    header = next(reader)
    comment, label = header.index("comment"), header.index("label")
    return [(row[comment], row[label].strip().upper() == "HAPPY") for row in reader if len(row) > label]


def _sentipers_rows(raw: str) -> list[Row]:
    rows: list[Row] = []
    for row in csv.reader(io.StringIO(raw)):
        if len(row) == 2:
            value = int(row[1])
            rows.append((row[0], None if value == 0 else value > 0))
    return rows


_ROWS: dict[str, Callable[[str], list[Row]]] = {
    "vader": _vader_rows,
    "uci": _uci_rows,
    "snappfood": _snappfood_rows,
    "sentipers": _sentipers_rows,
}


# --- metrics ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scores:
    count: int
    accuracy: float
    macro_f1: float
    auc: float
    confusion: tuple[tuple[int, int], tuple[int, int]]  # rows: true negative, positive; columns: predicted
    zero_share: float  # polarity exactly 0
    no_signal_share: float


def score_results(results: Sequence[Sentiment], labels: Sequence[bool], *, threshold: float = 0.0) -> Scores:
    predicted = [result.label != "no_signal" and result.polarity > threshold for result in results]
    polarities = [result.polarity for result in results]
    scores = score_predictions(predicted, polarities, labels)
    no_signal = sum(result.label == "no_signal" for result in results)
    return Scores(**{**scores.__dict__, "no_signal_share": no_signal / len(results) if results else 0.0})


def score_predictions(predicted: Sequence[bool], polarities: Sequence[float], labels: Sequence[bool]) -> Scores:
    true_negative = sum(not p and not y for p, y in zip(predicted, labels, strict=True))
    false_positive = sum(p and not y for p, y in zip(predicted, labels, strict=True))
    false_negative = sum(not p and y for p, y in zip(predicted, labels, strict=True))
    true_positive = sum(p and y for p, y in zip(predicted, labels, strict=True))
    count = len(labels)
    return Scores(
        count=count,
        accuracy=(true_positive + true_negative) / count if count else 0.0,
        macro_f1=(
            _f1(true_positive, false_positive, false_negative) + _f1(true_negative, false_negative, false_positive)
        )
        / 2,
        auc=auc(polarities, labels),
        confusion=((true_negative, false_positive), (false_negative, true_positive)),
        zero_share=sum(polarity == 0 for polarity in polarities) / count if count else 0.0,
        no_signal_share=0.0,
    )


def _f1(hits: int, false_alarms: int, misses: int) -> float:
    return 2 * hits / (2 * hits + false_alarms + misses) if hits else 0.0


def auc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """Area under the ROC curve: the chance a positive outscores a negative, ties half."""
    positives = sum(labels)
    negatives = len(labels) - positives
    if not positives or not negatives:
        return float("nan")
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    rank_sum = 0.0
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        mean_rank = (i + j) / 2 + 1
        rank_sum += mean_rank * sum(labels[order[k]] for k in range(i, j + 1))
        i = j + 1
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


@dataclass(frozen=True)
class FlagShares:
    """What the "negative comment" flag rule does on a labelled set."""

    at_most: float
    complaints_flagged: float  # share of the negative comments it flags
    praise_flagged: float  # share of the positive ones


def flag_shares(results: Sequence[Sentiment], labels: Sequence[bool], *, at_most: float) -> FlagShares:
    flagged = [engine.is_negative_comment(result, at_most=at_most) for result in results]
    complaints = [hit for hit, label in zip(flagged, labels, strict=True) if not label]
    praise = [hit for hit, label in zip(flagged, labels, strict=True) if label]
    return FlagShares(
        at_most=at_most,
        complaints_flagged=sum(complaints) / len(complaints) if complaints else 0.0,
        praise_flagged=sum(praise) / len(praise) if praise else 0.0,
    )


# --- the analyzers measured ---------------------------------------------------------------------

# name -> analyzer; each language's list ends with the shipped ones.
ANALYZERS: dict[str, list[tuple[str, Callable[[str], Sentiment]]]] = {
    "en": [
        ("TextBlob alone", engine.analyze_textblob),
        ("VADER alone", engine.analyze_vader),
        ("English (shipped)", engine.analyze_english),
        ("analyze() (shipped)", engine.analyze),
    ],
    "fa": [
        ("TextBlob alone", engine.analyze_textblob),
        ("VADER alone", engine.analyze_vader),
        ("Persian (shipped)", engine.analyze_persian),
        ("analyze() (shipped)", engine.analyze),
    ],
}


@dataclass(frozen=True)
class Measured:
    name: str
    analyzer: str  # version string
    scores: Scores
    results: list[Sentiment]


def measure(labelled: LabelledSet) -> list[Measured]:
    measured = []
    for name, analyze in ANALYZERS[labelled.language]:
        results = [analyze(text) for text in labelled.texts]
        version = results[0].analyzer if results else ""
        measured.append(Measured(name, version, score_results(results, labelled.labels), results))
    return measured


def features_of(labelled: LabelledSet) -> list[tuple[dict[str, float], bool]]:
    features = engine.english_features if labelled.language == "en" else engine.persian_features
    return [features(text) for text in labelled.texts]
