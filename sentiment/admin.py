from django.contrib import admin

from sentiment.models import SentimentScore
from surveys.admin import ShopScopedAdmin


@admin.register(SentimentScore)
class SentimentScoreAdmin(ShopScopedAdmin):
    shop_path = "answer__response__shop"
    list_display = ["answer", "label", "polarity", "confidence", "language", "analyzer", "scored_at"]
    list_filter = ["label", "language"]
    readonly_fields = ["answer", "polarity", "label", "confidence", "language", "analyzer", "scored_at"]
