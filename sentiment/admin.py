"""The admin of sentiment: each shop's themes (its own keywords) and its learned models (read only)."""

from django.contrib import admin
from django.http import HttpRequest

from sentiment.models import AnswerTheme, LearnedModel, SentimentScore, Theme
from surveys.admin.base import SHOP_ADMINS, ShopScopedAdmin


@admin.register(SentimentScore)
class SentimentScoreAdmin(ShopScopedAdmin):
    shop_path = "answer__response__shop"
    list_display = ["answer", "label", "polarity", "confidence", "language", "analyzer", "scored_at"]
    list_filter = ["label", "language"]
    readonly_fields = ["answer", "polarity", "label", "confidence", "language", "analyzer", "scored_at"]


@admin.register(LearnedModel)
class LearnedModelAdmin(ShopScopedAdmin):
    """Read only: models are trained by the scheduler (feedback.tasks.retrain_shop_models)."""

    list_display = [
        *["shop", "language", "trained_at", "examples", "positives", "held_out_count", "held_out_macro_f1"],
        *["analyzer_macro_f1", "beats_analyzer"],
    ]
    exclude = ["model"]
    readonly_fields = [
        *["shop", "language", "trained_at", "examples", "positives", "held_out_count", "held_out_accuracy"],
        *["held_out_macro_f1", "analyzer_macro_f1"],
    ]

    @admin.display(boolean=True, description="In use (beats the analyzer)")
    def beats_analyzer(self, model: LearnedModel) -> bool:
        return model.beats_analyzer

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Theme)
class ThemeAdmin(ShopScopedAdmin):
    roles = SHOP_ADMINS
    list_display = ["name", "shop"]


@admin.register(AnswerTheme)
class AnswerThemeAdmin(ShopScopedAdmin):
    shop_path = "answer__response__shop"
    list_display = ["answer", "theme", "label", "polarity"]
    list_filter = ["theme", "label"]
    readonly_fields = ["answer", "theme", "label", "polarity"]
