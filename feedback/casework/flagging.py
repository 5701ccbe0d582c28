"""Which answers go on the support team's work list, how urgent they are, and when they are due.

Every rule that fires is listed on the one case per response. Priority weighs how bad the
answer is (severity) against what the customer is worth to the shop: a loyal customer's
complaint comes first. The due time is the priority's SLA counted in the shop's business hours.
"""

import math
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone

from feedback.models import Answer, CaseEvent, FlagRules, FollowUp, Response
from sentiment.persian import normalize
from surveys.models import SCALES, Order, Question, Shop

Reason = FollowUp.Reason
Priority = FollowUp.Priority

# How much each rule adds to an answer's severity.
_SEVERITY = {
    Reason.NEGATIVE_COMMENT: 1,
    Reason.SILENT_DETRACTOR: 1,
    Reason.KEYWORD: 2,
    Reason.REPEAT_LOW: 1,
}


@dataclass(frozen=True)
class Verdict:
    reasons: list[str]
    severity: int
    keywords: list[str]


def rules_for(shop: Shop) -> FlagRules:
    """The shop's rules, or the defaults (unsaved) if it never changed them."""
    return FlagRules.objects.filter(shop=shop).first() or FlagRules(shop=shop)


def judge(response: Response, rules: FlagRules) -> Verdict:
    """Every rule the response breaks, and how severe it is altogether."""
    answers = list(response.answers.select_related("question", "sentiment"))
    reasons: list[str] = []
    severity = 0
    lead = next((answer for answer in answers if answer.question.scale is not None and answer.score is not None), None)
    lead_mood = lead.question.mood(lead.score) if lead is not None and lead.score is not None else None

    nps = next((a.score for a in answers if a.question.kind == Question.Kind.NPS and a.score is not None), None)
    if nps is not None and rules.nps_at_most is not None and nps <= rules.nps_at_most:
        reasons.append(Reason.DETRACTOR)
        severity += 3 if nps <= 3 else 2
    csat = next((a.score for a in answers if a.question.kind == Question.Kind.CSAT and a.score is not None), None)
    if csat is not None and rules.csat_at_most is not None and csat <= rules.csat_at_most:
        reasons.append(Reason.LOW_CSAT)
        severity += 3 if csat <= 1 else 2

    threshold = rules.comment_polarity_at_most
    negative = threshold is not None and any(
        (polarity := _negative_polarity(answer)) is not None and polarity <= threshold for answer in answers
    )
    if negative:
        reason = Reason.SILENT_DETRACTOR if lead_mood in ("neutral", "happy") else Reason.NEGATIVE_COMMENT
        reasons.append(reason)
        severity += _SEVERITY[reason]

    words = found_keywords(" ".join(answer.text for answer in answers if answer.text), rules.keyword_list)
    if words:
        reasons.append(Reason.KEYWORD)
        severity += _SEVERITY[Reason.KEYWORD]

    if lead_mood == "unhappy" and rules.repeat_low_days and _had_low_score_before(response, days=rules.repeat_low_days):
        reasons.append(Reason.REPEAT_LOW)
        severity += _SEVERITY[Reason.REPEAT_LOW]
    return Verdict(reasons=[str(reason) for reason in reasons], severity=severity, keywords=words)


def in_rule_order(reasons: list[str]) -> list[str]:
    """The reasons in the order the rules are listed, whichever reading found them first.

    A comment saved while the score's reading runs can be seen without its sentiment score;
    the next reading adds the rest, and the case must read the same either way.
    """
    return [str(reason) for reason in Reason if reason in reasons]


def found_keywords(text: str, keywords: list[str]) -> list[str]:
    """The keywords that occur in the text, matched as sentiment.persian.normalize spells them
    (case, Arabic/Persian letters, ZWNJ); a phrase also when written without its spaces."""
    words = normalize(text)
    joined = words.replace(" ", "")
    found = []
    for keyword in keywords:
        wanted = normalize(keyword).strip()
        if wanted and (wanted.replace(" ", "") in joined if " " in wanted else wanted in words):
            found.append(keyword)
    return found


def priority_for(severity: int, *, loyal: bool) -> int:
    if severity >= 5 or (loyal and severity >= 3):
        return Priority.URGENT
    if severity >= 3 or loyal:
        return Priority.HIGH
    if severity >= 2:
        return Priority.NORMAL
    return Priority.LOW


def due_time(start: datetime, *, hours: int, rules: FlagRules, tz: tzinfo) -> datetime:
    """`hours` of business time after `start`, in the shop's working days and hours."""
    local = start.astimezone(tz)
    left = timedelta(hours=hours)
    opening, closing = rules.business_from_hour, rules.business_until_hour
    for _day in range(366):
        day = local.date()
        if day.isoweekday() in rules.weekdays:
            opens = datetime.combine(day, time(opening), tzinfo=tz)
            closes = datetime.combine(day, time(0), tzinfo=tz) + timedelta(hours=closing)
            begin = max(local, opens)
            if begin < closes:
                if begin + left <= closes:
                    return begin + left
                left -= closes - begin
        local = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return start + timedelta(hours=hours)  # no working days configured: plain hours


def spend_rank(shop_id: int, spend: Decimal) -> int | None:
    """Where a lifetime spend ranks among the shop's customers: the percentage of them (rounded
    up) who spent as much or more, so 1 is the very top and 10 the top tenth. None for nothing spent.

    Two counts over the shop's orders grouped by customer, on a flag only (not every answer).
    """
    if spend <= 0:
        return None
    per_customer = (
        Order.objects.counted()
        .filter(shop_id=shop_id, cancelled_at__isnull=True)
        .values("customer_id")
        .annotate(spent=Sum("total"))
        .order_by()
    )
    customers = per_customer.count()
    if not customers:
        return None
    as_much = per_customer.filter(spent__gte=spend).count()
    return max(1, min(100, math.ceil(100 * as_much / customers)))


def customer_value(response: Response) -> tuple[int, Decimal]:
    """The customer's order count and lifetime spend at the shop."""
    totals = (
        Order.objects.counted()
        .filter(shop_id=response.shop_id, customer_id=response.customer_id)
        .aggregate(orders=Count("pk"), spend=Sum("total"))
    )
    return totals["orders"], totals["spend"] or Decimal(0)


def flag_response(response: Response, *, now: datetime | None = None) -> FollowUp | None:
    """Put the response on the work list if a rule fires: one case, every reason on it.

    Judged again (the customer changed the answer, or the comment was scored), a case gains
    the new reasons, and a higher priority with its earlier due time; it never loses any.
    """
    now = now or timezone.now()
    shop = response.shop
    rules = rules_for(shop)
    verdict = judge(response, rules)
    if not verdict.reasons:
        return None
    orders, spend = customer_value(response)
    rank = spend_rank(response.shop_id, spend)
    loyal = (
        orders >= rules.loyal_orders
        or (rules.loyal_spend is not None and spend >= rules.loyal_spend)
        or (rules.top_customers_percent is not None and rank is not None and rank <= rules.top_customers_percent)
    )
    priority = priority_for(verdict.severity, loyal=loyal)
    due_at = due_time(now, hours=rules.sla_hours(priority), rules=rules, tz=shop.tz)

    follow_up, created = FollowUp.objects.get_or_create(
        response=response,
        defaults={
            "shop_id": response.shop_id,
            "reasons": verdict.reasons,
            "keywords": verdict.keywords,
            "priority": priority,
            "due_at": due_at,
            "customer_orders": orders,
            "customer_spend": spend,
            "customer_rank": rank,
        },
    )
    if created:
        CaseEvent.objects.create(
            follow_up=follow_up, action="flagged", detail={"reasons": verdict.reasons, "priority": priority}
        )
        return follow_up
    new_reasons = [reason for reason in verdict.reasons if reason not in follow_up.reasons]
    raised = priority < follow_up.priority and not follow_up.is_closed
    if new_reasons or raised:
        follow_up.reasons = in_rule_order([*follow_up.reasons, *new_reasons])
        follow_up.keywords = sorted(set(follow_up.keywords) | set(verdict.keywords))
        if raised:
            follow_up.priority = priority
            follow_up.due_at = min(filter(None, [follow_up.due_at, due_at]))
        follow_up.save(update_fields=["reasons", "keywords", "priority", "due_at", "updated_at"])
        CaseEvent.objects.create(
            follow_up=follow_up, action="reflagged", detail={"added": new_reasons, "priority": follow_up.priority}
        )
    return follow_up


def _negative_polarity(answer: Answer) -> float | None:
    score = getattr(answer, "sentiment", None) if answer.text else None
    return score.polarity if score is not None and score.label == "negative" else None


def _had_low_score_before(response: Response, *, days: int) -> bool:
    low = Q()
    for kind, scale in SCALES.items():
        low |= Q(question__kind=kind, score__lte=scale.unhappy_up_to)
    return (
        Answer.objects.filter(
            low,
            response__shop_id=response.shop_id,
            response__customer_id=response.customer_id,
            response__submitted_at__lt=response.submitted_at,
            response__submitted_at__gte=response.submitted_at - timedelta(days=days),
        )
        .exclude(response_id=response.pk)
        .exists()
    )
