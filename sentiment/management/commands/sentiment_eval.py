"""`manage.py sentiment_eval FILE…`: measure the analyzers (and, asked, a learned model or refitted
weights) on labelled CSV files: accuracy, macro-F1 and AUC."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sentiment import evaluation
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
        parser.add_argument("--train-share", type=float, default=0.5, help="share of the file to train on")
        parser.add_argument("--folds", type=int, default=0, help="k-fold instead of one split (k >= 2)")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--fit-on", type=Path, nargs="+", default=[], metavar="FILE",
            help="refit the language's weights on these files and measure them on each file (cross-set check)",
        )  # fmt: skip

    def handle(
        self, *args: object, files: list[Path], learned: bool, train_share: float, folds: int, seed: int,
        fit_on: list[Path], **options: object,
    ) -> None:  # fmt: skip
        if folds == 1 or folds < 0:
            raise CommandError("--folds needs at least 2")
        if not 0 < train_share < 1:
            raise CommandError("--train-share must be between 0 and 1")
        fit_sets = [self._read(path) for path in fit_on]
        for path in files:
            labelled = self._read(path)
            self._header(labelled)
            self._row_header()
            for measured in evaluation.measure(labelled):
                self._row(f"{measured.name} [{measured.analyzer}]", measured.scores)
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
