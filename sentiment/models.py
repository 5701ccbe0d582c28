"""What sentiment keeps: each comment's score and theme tags (by answer), each shop's own themes,
and the shop models learned from its customers."""

from django.db import models


class SentimentScore(models.Model):
    """How a comment reads, as scored by one version of an analyzer."""

    class Label(models.TextChoices):
        NEGATIVE = "negative", "Negative"
        NEUTRAL = "neutral", "Neutral"
        POSITIVE = "positive", "Positive"
        # The analyzer found nothing to go on (no sentiment words at all): not the same as neutral.
        NO_SIGNAL = "no_signal", "No signal"

    # By name, not import: feedback calls sentiment, never the other way round.
    answer = models.OneToOneField("feedback.Answer", on_delete=models.CASCADE, related_name="sentiment")
    polarity = models.FloatField(help_text="-1 (negative) to 1 (positive)")
    label = models.CharField(max_length=10, choices=Label.choices)
    confidence = models.FloatField()
    language = models.CharField(max_length=8)
    analyzer = models.CharField(max_length=40, help_text="Name and version of the analyzer that scored it.")
    scored_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.label} ({self.polarity:+.2f})"


class LearnedModel(models.Model):
    """A shop's own sentiment model for one language, trained on its customers' scored comments."""

    shop = models.ForeignKey("surveys.Shop", on_delete=models.CASCADE, related_name="sentiment_models")
    language = models.CharField(max_length=8)
    trained_at = models.DateTimeField()
    examples = models.PositiveIntegerField(help_text="Comments it was trained on.")
    positives = models.PositiveIntegerField()
    # Measured before the final fit: trained on 80% of the comments, tested on the other 20%.
    held_out_count = models.PositiveIntegerField()
    held_out_accuracy = models.FloatField()
    held_out_macro_f1 = models.FloatField()
    # The analyzer alone on the same held-out comments: the model is used only if it does better.
    analyzer_macro_f1 = models.FloatField()
    model = models.BinaryField(help_text="sentiment.learned.dumps of the model.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "language"], name="learnedmodel_unique_shop_language")]

    def __str__(self) -> str:
        return f"{self.shop} {self.language} model ({self.examples} comments, F1 {self.held_out_macro_f1:.2f})"

    @property
    def beats_analyzer(self) -> bool:
        return self.held_out_macro_f1 > self.analyzer_macro_f1


class Theme(models.Model):
    """A shop's own theme, or more words for a built-in one (same name)."""

    shop = models.ForeignKey("surveys.Shop", on_delete=models.CASCADE, related_name="themes")
    name = models.SlugField(max_length=40, help_text="For example delivery, or a new one like gift_wrapping.")
    keywords_en = models.TextField(blank=True, help_text="English words or phrases, one per line.")
    keywords_fa = models.TextField(blank=True, help_text="Persian words or phrases, one per line.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "name"], name="theme_unique_name_per_shop")]

    def __str__(self) -> str:
        return self.name


class AnswerTheme(models.Model):
    """A theme a comment mentions, with the sentiment of the words about it."""

    answer = models.ForeignKey("feedback.Answer", on_delete=models.CASCADE, related_name="themes")
    theme = models.SlugField(max_length=40)
    polarity = models.FloatField()
    label = models.CharField(max_length=10, choices=SentimentScore.Label.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["answer", "theme"], name="answertheme_unique_theme_per_answer")]
        indexes = [models.Index(fields=["theme", "label"], name="answertheme_theme_label_idx")]

    def __str__(self) -> str:
        return f"{self.theme} ({self.label})"
