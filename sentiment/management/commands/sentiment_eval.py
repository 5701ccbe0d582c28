"""`manage.py sentiment_eval FILE…`: measure the analyzers (and, asked, a learned model or refitted
weights) on labelled CSV files: accuracy, macro-F1 and AUC."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sentiment import engine, evaluation
from sentiment.engine import Sentiment
from sentiment.evaluation import LabelledSet, Scores


class Command(BaseCommand):
    help = (
        "Measure the sentiment analyzers on labelled comments (the VADER Amazon snippets, UCI, SnappFood or "
        "SentiPers formats, told apart by content): accuracy, binary macro-F1, AUC, confusion matrix and the share "
        "scored exactly 0, for each analyzer of the file's language."
    )
    # Plain functions of text: no database, so no need to load and check the whole project.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument("--learned", action="store_true", help="also train a shop model on part of each file")
        parser.add_argument(
            "--train", type=Path, metavar="FILE",
            help="train a shop model on this whole file and measure it on each of the files (same language)",
        )  # fmt: skip
        parser.add_argument(
            "--flag-at", type=float, nargs="+", default=[engine.FLAG_AT_MOST], metavar="POLARITY",
            help=f"the flag rule's polarity, one or several (default {engine.FLAG_AT_MOST}, the shops' default)",
        )  # fmt: skip
        parser.add_argument("--train-share", type=float, default=0.5, help="share of the file to train on")
        parser.add_argument("--folds", type=int, default=0, help="k-fold instead of one split (k >= 2)")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--fit-on", type=Path, nargs="+", default=[], metavar="FILE",
            help="refit the language's weights on these files and measure them on each file (cross-set check)",
        )  # fmt: skip

    def handle(
        self, *args: object, files: list[Path], learned: bool, train_share: float, folds: int, seed: int,
        fit_on: list[Path], train: Path | None, flag_at: list[float], **options: object,
    ) -> None:  # fmt: skip
        if folds == 1 or folds < 0:
            raise CommandError("--folds needs at least 2")
        if not 0 < train_share < 1:
            raise CommandError("--train-share must be between 0 and 1")
        if any(not -1 <= at_most <= 0 for at_most in flag_at):
            raise CommandError("--flag-at takes polarities between -1 and 0")
        fit_sets = [self._read(path) for path in fit_on]
        train_set = self._read(train) if train is not None else None
        for path in files:
            labelled = self._read(path)
            self._header(labelled)
            self._row_header()
            measured_all = evaluation.measure(labelled)
            for measured in measured_all:
                self._row(f"{measured.name} [{measured.analyzer}]", measured.scores)
            self._flags(measured_all[-1].results, labelled, flag_at)
            if fit_sets:
                same_language = [fit for fit in fit_sets if fit.language == labelled.language]
                if not same_language:
                    raise CommandError(f"--fit-on has no {labelled.language} file to refit {path.name}'s weights")
                from sentiment.learned import refit  # scikit-learn, only when asked

                weights, scores = refit(same_language, labelled)
                names = " + ".join(fit.name for fit in same_language)
                self._row(f"refit on {names}", scores)
                self.stdout.write(
                    "    weights: " + ", ".join(f"{name} {value:+.2f}" for name, value in weights.items())
                )
            if learned:
                self._learned(labelled, train_share=train_share, folds=folds, seed=seed)
            if train_set is not None:
                self._trained_on(train_set, labelled, seed=seed, flag_at=flag_at)
            self.stdout.write("")

    def _read(self, path: Path) -> LabelledSet:
        try:
            return evaluation.read_labelled(path)
        except (OSError, ValueError) as error:
            raise CommandError(f"{path}: {error}") from error

    def _header(self, labelled: LabelledSet) -> None:
        positives = sum(labelled.labels)
        share = positives / len(labelled) if len(labelled) else 0.0
        self.stdout.write(
            f"{labelled.name}: {labelled.format} ({labelled.language}), {len(labelled)} comments "
            f"({positives} positive, {share:.1%}), {labelled.dropped} neutral dropped"
        )

    def _row_header(self) -> None:
        self.stdout.write(
            f"  {'analyzer':<52} {'acc':>6} {'macroF1':>7} {'AUC':>6} {'zero':>6} {'no-sig':>6}   [[TN FP] [FN TP]]"
        )

    def _row(self, name: str, scores: Scores) -> None:
        (tn, fp), (fn, tp) = scores.confusion
        self.stdout.write(
            f"  {name:<52} {scores.accuracy:6.3f} {scores.macro_f1:7.3f} {scores.auc:6.3f} {scores.zero_share:6.1%} "
            f"{scores.no_signal_share:6.1%}   [[{tn} {fp}] [{fn} {tp}]]"
        )

    def _flags(self, results: list[Sentiment], labelled: LabelledSet, flag_at: list[float]) -> None:
        for at_most in flag_at:
            shares = evaluation.flag_shares(results, labelled.labels, at_most=at_most)
            self.stdout.write(
                f"  flag rule (negative, polarity <= {at_most:+.2f}): {shares.complaints_flagged:.1%} of complaints "
                f"flagged, {shares.praise_flagged:.1%} of praise"
            )

    def _trained_on(self, train_set: LabelledSet, labelled: LabelledSet, *, seed: int, flag_at: list[float]) -> None:
        from sentiment import learned  # scikit-learn, only when asked

        if train_set.language != labelled.language:
            raise CommandError(
                f"--train {train_set.name} is {train_set.language}, {labelled.name} is {labelled.language}"
            )
        try:
            measured = learned.train_and_test(
                train_set.texts, train_set.labels, labelled.texts, labelled.labels, seed=seed
            )
        except learned.NotEnoughExamples as error:
            raise CommandError(f"--train {train_set.name}: {error}") from error
        self.stdout.write(f"  shop-learned model trained on {train_set.name} ({measured.train_count} comments):")
        self._row("  analyzer alone", measured.analyzer_alone)
        self._row("  n-grams alone", measured.ngrams_alone)
        self._row(f"  n-grams + analyzer [{learned.LEARNED_VERSION}]", measured.learned)
        self._flags(measured.results, labelled, flag_at)

    def _learned(self, labelled: LabelledSet, *, train_share: float, folds: int, seed: int) -> None:
        from sentiment import learned  # scikit-learn, only when asked

        try:
            if folds:
                held_out = learned.cross_validate(labelled.texts, labelled.labels, folds=folds, seed=seed)
                how = f"{folds}-fold, seed {seed}"
            else:
                held_out = learned.hold_out(labelled.texts, labelled.labels, train_share=train_share, seed=seed)
                how = f"train {train_share:.0%} / test {1 - train_share:.0%}, seed {seed}"
        except learned.NotEnoughExamples as error:
            self.stdout.write(f"  shop-learned model: {error}")
            return
        self.stdout.write(f"  shop-learned model ({how}; {held_out.train_count} train, {held_out.test_count} tested):")
        self._row("  analyzer alone, same test comments", held_out.analyzer_alone)
        self._row("  n-grams alone", held_out.ngrams_alone)
        self._row(f"  n-grams + analyzer [{learned.LEARNED_VERSION}]", held_out.learned)
