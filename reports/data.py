"""What a monthly report says, as plain data: built and tested without WeasyPrint."""

from datetime import date, datetime, time

from django.db.models import Prefetch

from feedback.metrics import nps_tally
from feedback.models import Answer, FollowUp
from surveys.models import Invitation, Question, Shop


def month_bounds(shop: Shop, month: date) -> tuple[datetime, datetime]:
    """[first instant, first instant of the next month) in the shop's time zone."""
    start = month.replace(day=1)
    following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return datetime.combine(start, time.min, tzinfo=shop.tz), datetime.combine(following, time.min, tzinfo=shop.tz)


def monthly_report_data(shop: Shop, *, month: date) -> dict[str, object]:
    since, until = month_bounds(shop, month)
    tally = nps_tally(shop, since=since, until=until)
    sent = Invitation.objects.filter(shop=shop, sent_at__gte=since, sent_at__lt=until).count()
    follow_ups = (
        FollowUp.objects.filter(shop=shop, response__submitted_at__gte=since, response__submitted_at__lt=until)
        .select_related("response__customer", "response__invitation__order", "assignee")
        .prefetch_related(
            Prefetch("response__answers", queryset=Answer.objects.select_related("question"), to_attr="all_answers")
        )
        .order_by("response__submitted_at")
    )
    return {
        "shop": {"name": shop.display_name, "slug": shop.slug, "timezone": shop.timezone},
        "period": {"month": since.strftime("%B %Y"), "start": since.date(), "end": until.date()},
        "nps": {
            "score": tally.score,
            "margin_of_error": tally.margin_of_error,
            "responses": tally.responses,
            "promoters": tally.promoters,
            "passives": tally.passives,
            "detractors": tally.detractors,
        },
        "invitations_sent": sent,
        "flagged": [_flagged_row(follow_up) for follow_up in follow_ups],
    }


def _flagged_row(follow_up: FollowUp) -> dict[str, object]:
    response = follow_up.response
    answers = {answer.question.kind: answer for answer in response.all_answers}  # type: ignore[attr-defined]
    nps = answers.get(Question.Kind.NPS)
    comment = answers.get(Question.Kind.COMMENT)
    customer = response.customer
    return {
        "customer": customer.name or customer.email or customer.phone,
        "email": customer.email,
        "order": response.invitation.order.external_id,
        "submitted_at": response.submitted_at,
        "score": nps.score if nps else None,
        "comment": comment.text if comment else "",
        "reasons": [
            FollowUp.Reason(code).label if code in FollowUp.Reason.values else code for code in follow_up.reasons
        ],
        "status": follow_up.get_status_display(),
        "owner": follow_up.assignee.get_username() if follow_up.assignee else "",
    }
