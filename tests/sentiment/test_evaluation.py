from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from sentiment import evaluation
from sentiment.engine import Sentiment

VADER = "1_1\t-2.5\tit broke after a day\r\n1_2\t0.1\tit is a phone\r\n1_3\t2.8\tworks great, love it\r\n"
UCI = "Great phone, works well.\t1\nTerrible, it broke.\t0\n"
SNAPPFOOD = "\tcomment\tlabel\tlabel_id\n0\tغذا عالی بود\tHAPPY\t0\n1\tغذا سرد بود\tSAD\t1\n"
SENTIPERS = '"گوشی خوبیه","2"\n"گوشی سامسونگ است","0"\n"باتری ضعیفه","-1"\n'


@pytest.mark.parametrize(
    ("raw", "name", "format_", "labels", "dropped"),
    [
        (VADER, "snippets.txt", "vader", [False, True], 1),
        (UCI, "cells.txt", "uci", [True, False], 0),
        (SNAPPFOOD, "dev.tsv", "snappfood", [True, False], 0),
        (SENTIPERS, "sp.csv", "sentipers", [True, False], 1),
    ],
)
def test_parse_labelled_tells_the_formats_apart(raw, name, format_, labels, dropped):
    labelled = evaluation.parse_labelled(raw, name=name)

    assert (labelled.format, labelled.labels, labelled.dropped) == (format_, labels, dropped)
    assert len(labelled.texts) == len(labels)


def test_parse_labelled_refuses_an_unknown_format():
    with pytest.raises(evaluation.UnknownFormat):
        evaluation.parse_labelled("just some text\nand more\n")


def test_scores_count_no_signal_as_negative_and_rank_by_polarity():
    results = [
        Sentiment(0.8, "positive", 0.8, "en"),
        Sentiment(0.0, "no_signal", 0.0, "en"),
        Sentiment(-0.5, "negative", 0.5, "en"),
        Sentiment(0.3, "positive", 0.3, "en"),
    ]

    scores = evaluation.score_results(results, [True, True, False, False])

    assert scores.confusion == ((1, 1), (1, 1))
    assert (scores.accuracy, scores.macro_f1) == (0.5, 0.5)
    assert scores.auc == pytest.approx(0.75)
    assert (scores.zero_share, scores.no_signal_share) == (0.25, 0.25)


def test_auc_counts_ties_as_half():
    assert evaluation.auc([0.0, 0.0], [True, False]) == 0.5
    assert evaluation.auc([1.0, 0.0, 0.5], [True, False, True]) == 1.0


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_sentiment_eval_prints_every_analyzer_for_each_format(tmp_path):
    files = [
        write(tmp_path, "snippets.txt", VADER),
        write(tmp_path, "cells.txt", UCI),
        write(tmp_path, "dev.tsv", SNAPPFOOD),
        write(tmp_path, "sp.csv", SENTIPERS),
    ]
    out = StringIO()

    call_command("sentiment_eval", *map(str, files), stdout=out)

    printed = out.getvalue()
    assert "snippets.txt: vader (en), 2 comments (1 positive, 50.0%), 1 neutral dropped" in printed
    assert "sp.csv: sentipers (fa), 2 comments (1 positive, 50.0%), 1 neutral dropped" in printed
    assert printed.count("English (shipped)") == 2
    assert printed.count("Persian (shipped)") == 2
    assert printed.count("VADER alone") == 4
    assert printed.count("macroF1") == 4


def test_sentiment_eval_learned_and_refit(tmp_path):
    rows = ["\tcomment\tlabel\tlabel_id"]
    for number in range(20):
        rows.append(f"{2 * number}\tghaza aali bood {number}\tHAPPY\t0")
        rows.append(f"{2 * number + 1}\tghaza sard bood {number}\tSAD\t1")
    shop = write(tmp_path, "shop.tsv", "\n".join(rows) + "\n")
    other = write(tmp_path, "other.csv", SENTIPERS * 3)
    out = StringIO()

    call_command("sentiment_eval", str(shop), "--learned", "--folds", "2", "--fit-on", str(other), stdout=out)

    printed = out.getvalue()
    assert "shop-learned model (2-fold, seed 0; 20 train, 40 tested)" in printed
    assert "n-grams + analyzer [shop-1]" in printed
    assert "refit on other.csv" in printed
    assert "weights: bias" in printed


def test_sentiment_eval_refuses_what_it_cannot_read(tmp_path):
    with pytest.raises(CommandError, match="not one of"):
        call_command("sentiment_eval", str(write(tmp_path, "notes.txt", "hello\nworld\n")), stdout=StringIO())
    with pytest.raises(CommandError, match="--folds"):
        call_command("sentiment_eval", str(write(tmp_path, "u.txt", UCI)), "--folds", "1", stdout=StringIO())


def test_sentiment_eval_trains_on_one_file_and_tests_on_another(tmp_path):
    def shop_file(name, words_good, words_bad, count):
        rows = ["\tcomment\tlabel\tlabel_id"]
        for number in range(count):
            rows.append(f"{2 * number}\t{words_good[number % 2]} {number}\tHAPPY\t0")
            rows.append(f"{2 * number + 1}\t{words_bad[number % 2]} {number}\tSAD\t1")
        return write(tmp_path, name, "\n".join(rows) + "\n")

    # Slang no lexicon knows: only a model trained on the first file reads the second.
    train = shop_file("train.tsv", ["ghol bood", "tak bood"], ["chert bood", "pashimoon shodam"], 20)
    test = shop_file("test.tsv", ["ghol", "tak"], ["chert", "pashimoon"], 10)
    out = StringIO()

    call_command("sentiment_eval", str(test), "--train", str(train), "--flag-at", "-0.3", "-0.6", stdout=out)

    printed = out.getvalue()
    assert "shop-learned model trained on train.tsv (40 comments):" in printed
    [learned_row] = [line for line in printed.splitlines() if "n-grams + analyzer" in line]
    assert learned_row.split()[5] == "1.000"  # macro-F1: every held-out comment read right
    assert "flag rule (negative, polarity <= -0.30)" in printed
    assert "flag rule (negative, polarity <= -0.60)" in printed
    with pytest.raises(CommandError, match="is fa"):
        call_command("sentiment_eval", str(write(tmp_path, "u.txt", UCI)), "--train", str(train), stdout=StringIO())
    with pytest.raises(CommandError, match="--flag-at"):
        call_command("sentiment_eval", str(test), "--flag-at", "0.5", stdout=StringIO())


def test_flag_shares_count_complaints_and_praise_the_rule_flags():
    def result(polarity, label):
        return Sentiment(polarity=polarity, label=label, confidence=abs(polarity), language="en")

    results = [result(-0.9, "negative"), result(-0.25, "negative"), result(0.0, "no_signal"), result(-0.5, "negative")]
    labels = [False, False, False, True]

    shares = evaluation.flag_shares(results, labels, at_most=-0.3)

    assert (shares.complaints_flagged, shares.praise_flagged) == (pytest.approx(1 / 3), 1.0)
