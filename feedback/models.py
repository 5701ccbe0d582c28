from django.conf import settings
from django.db import models
from django.db.models import Q

from surveys.models import Customer, Invitation, Language, Question, Shop, Survey


class Response(models.Model):
    """A customer's answer to one invitation; the database allows only one."""

    invitation = models.OneToOneField(Invitation, on_delete=models.CASCADE, related_name="response")
    # Copied from the invitation so tallies filter and group without joins.
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="responses")
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="responses")
    # When the answer first counted: the customer confirmed a score (or, without a score
    # question, sent the first page). Tallies use this time.
    submitted_at = models.DateTimeField()
    # When the customer sent the last page; until then the response is partial and resumable.
    completed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.ENGLISH)

    class Meta:
        indexes = [models.Index(fields=["shop", "submitted_at"], name="response_shop_time_idx")]

    def __str__(self) -> str:
        return f"response {self.pk} from {self.customer}"


class Answer(models.Model):
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="answers")
    score = models.SmallIntegerField(null=True, blank=True)
    text = models.TextField(blank=True, max_length=5000)
    # The chosen option values of a single or multiple choice question.
    choices = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["response", "question"], name="answer_unique_question_per_response"),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=0, score__lte=10), name="answer_score_0_to_10"
            ),
        ]

    def __str__(self) -> str:
        if self.score is not None:
            return f"{self.question.kind}: {self.score}"
        return f"{self.question.kind}: {', '.join(self.choices) or self.text[:40]}"


class FollowUp(models.Model):
    """A flagged response on the support team's work list."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        WAITING = "waiting", "Waiting on customer"
        RESOLVED = "resolved", "Resolved"
        NO_CONTACT = "no_contact", "No contact"

    class Reason(models.TextChoices):
        DETRACTOR = "detractor", "Detractor (NPS 0–6)"

    response = models.OneToOneField(Response, on_delete=models.CASCADE, related_name="follow_up")
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="follow_ups")
    reasons = models.JSONField(default=list, help_text="Every flagging rule that fired, by code.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["shop", "status"], name="followup_shop_status_idx")]

    def __str__(self) -> str:
        return f"follow-up {self.pk} ({self.status})"
