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
