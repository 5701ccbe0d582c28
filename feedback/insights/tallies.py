"""Tallies and how sure they are: NPS with its 95% margin of error, CSAT and CES with their 95%
intervals, response rates, and the tests that call a change between two periods significant."""

import math
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q

from feedback.models import Answer
from surveys.models import Question, Shop

# The z beyond which a change is called significant: two-sided, 95%.
Z_95 = 1.96
# The same quantile to full precision, where a series is built on it (t_975).
Z_975 = 1.959963984540054


# --- NPS: the tally, its margin of error and the test between two periods ------------------


@dataclass(frozen=True)
class NpsTally:
    promoters: int
    passives: int
    detractors: int

    @property
    def responses(self) -> int:
        """The denominator: answered NPS questions."""
        return self.promoters + self.passives + self.detractors

    @property
    def score(self) -> float | None:
        if not self.responses:
            return None
        return 100.0 * (self.promoters - self.detractors) / self.responses

    @property
    def margin_of_error(self) -> float | None:
        """95% margin of error, adjusted Wald (add 3 to n and 3/4 to each of p and d)."""
        if not self.responses:
            return None
        return 100.0 * Z_95 * self._adjusted_standard_error

    @property
    def _adjusted_score(self) -> float:
        """The adjusted-Wald NPS as a proportion, −1 to 1 (the added 3/4s cancel out)."""
        return (self.promoters - self.detractors) / (self.responses + 3)

    @property
    def _adjusted_standard_error(self) -> float:
        n = self.responses + 3
        p = (self.promoters + 0.75) / n
        d = (self.detractors + 0.75) / n
        variance = (p + d) - (p - d) ** 2
        return math.sqrt(variance / n)


def nps_change_z(current: NpsTally, previous: NpsTally) -> float | None:
    """The z statistic of the change from `previous` to `current`; None when either has no answers.

    Lewis & Sauro's test ("How to statistically compare two Net Promoter Scores", MeasuringU):
    each period's NPS and variance are taken adjusted-Wald (add 3 to n and 3/4 to promoters and
    detractors), z = (NPS₁ − NPS₂) / √(se₁² + se₂²) with se² = ((p + d) − (p − d)²) / n. The
    periods are independent samples (different answers), so their variances add.
    """
    if not current.responses or not previous.responses:
        return None
    difference = current._adjusted_score - previous._adjusted_score
    return difference / math.hypot(current._adjusted_standard_error, previous._adjusted_standard_error)


def nps_changed_significantly(current: NpsTally, previous: NpsTally) -> bool | None:
    """Whether the NPS moved more than chance explains: |z| > 1.96, two-sided at 95%."""
    z = nps_change_z(current, previous)
    return None if z is None else abs(z) > Z_95


def nps_tally(shop: Shop, *, since: datetime, until: datetime) -> NpsTally:
    """NPS over responses submitted in [since, until), counted by the database."""
    counts = Answer.objects.filter(
        response__shop=shop,
        response__submitted_at__gte=since,
        response__submitted_at__lt=until,
        question__kind=Question.Kind.NPS,
        score__isnull=False,
    ).aggregate(
        promoters=Count("pk", filter=Q(score__gte=9)),
        passives=Count("pk", filter=Q(score__gte=7, score__lte=8)),
        detractors=Count("pk", filter=Q(score__lte=6)),
    )
    return NpsTally(**counts)


# --- The other tallies ---------------------------------------------------------------------


@dataclass(frozen=True)
class CsatTally:
    satisfied: int
    responses: int

    @property
    def score(self) -> float | None:
        """The share of answers of 4 or 5, in percent, over answered CSAT questions."""
        return 100.0 * self.satisfied / self.responses if self.responses else None

    @property
    def interval(self) -> tuple[float, float] | None:
        """The 95% interval of the share satisfied, in percent: Wilson's score interval.

        With p = satisfied / n: (p + z²/2n ± z·√(p(1 − p)/n + z²/4n²)) / (1 + z²/n). Unlike
        p ± z·√(p(1 − p)/n) it stays within 0–100 and is not zero-wide at 0% or 100%, which a
        small shop's month often is.
        """
        n = self.responses
        if not n:
            return None
        p, z2 = self.satisfied / n, Z_95**2
        centre = (p + z2 / (2 * n)) / (1 + z2 / n)
        half = Z_95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
        return 100.0 * max(centre - half, 0.0), 100.0 * min(centre + half, 1.0)


def csat_change_z(current: CsatTally, previous: CsatTally) -> float | None:
    """The z statistic of the change in the share satisfied; None when either has no answers.

    The two-proportion z-test with the pooled share p̄ = (s₁ + s₂) / (n₁ + n₂):
    z = (p₁ − p₂) / √(p̄(1 − p̄)(1/n₁ + 1/n₂)). When every answer in both periods is
    satisfied (or none is), nothing changed: z = 0.
    """
    if not current.responses or not previous.responses:
        return None
    pooled = (current.satisfied + previous.satisfied) / (current.responses + previous.responses)
    variance = pooled * (1 - pooled) * (1 / current.responses + 1 / previous.responses)
    if variance == 0:
        return 0.0
    difference = current.satisfied / current.responses - previous.satisfied / previous.responses
    return difference / math.sqrt(variance)


def csat_changed_significantly(current: CsatTally, previous: CsatTally) -> bool | None:
    """Whether the share satisfied moved more than chance explains: |z| > 1.96, two-sided at 95%."""
    z = csat_change_z(current, previous)
    return None if z is None else abs(z) > Z_95


@dataclass(frozen=True)
class CesTally:
    # How many answered 1, 2, … 7.
    per_score: tuple[int, ...]

    @property
    def responses(self) -> int:
        return sum(self.per_score)

    @property
    def score(self) -> float | None:
        """The mean effort score (1–7, higher is easier) over answered CES questions."""
        if not self.responses:
            return None
        return sum(score * count for score, count in enumerate(self.per_score, start=1)) / self.responses

    @property
    def variance(self) -> float | None:
        """The sample variance of the scores (n − 1 below); None below two answers."""
        n, mean = self.responses, self.score
        if n < 2 or mean is None:
            return None
        return sum(count * (score - mean) ** 2 for score, count in enumerate(self.per_score, start=1)) / (n - 1)

    @property
    def margin_of_error(self) -> float | None:
        """95% margin of the mean, Student's t: t(0.975, n − 1) · s / √n. None below two answers,
        where the answers say nothing of their spread."""
        variance = self.variance
        if variance is None:
            return None
        return t_975(self.responses - 1) * math.sqrt(variance / self.responses)

    @property
    def interval(self) -> tuple[float, float] | None:
        """mean ± margin, kept within the scale's 1–7."""
        mean, margin = self.score, self.margin_of_error
        if mean is None or margin is None:
            return None
        return max(mean - margin, 1.0), min(mean + margin, 7.0)


def ces_change_t(current: CesTally, previous: CesTally) -> tuple[float, float] | None:
    """Welch's t statistic of the change in the mean, and its degrees of freedom; None unless
    both periods have two answers or more.

    t = (m₁ − m₂) / √(s₁²/n₁ + s₂²/n₂), ν = (s₁²/n₁ + s₂²/n₂)² / ((s₁²/n₁)²/(n₁ − 1) + (s₂²/n₂)²/(n₂ − 1))
    (Welch–Satterthwaite): the periods' spreads may differ, so they are not pooled. When neither
    period's answers vary at all, the means either match (t = 0) or differ beyond doubt (t = ±∞).
    """
    variances = current.variance, previous.variance
    if variances[0] is None or variances[1] is None or current.score is None or previous.score is None:
        return None
    a, b = variances[0] / current.responses, variances[1] / previous.responses
    difference = current.score - previous.score
    if a + b == 0:
        return (0.0 if difference == 0 else math.copysign(math.inf, difference)), math.inf
    freedom = (a + b) ** 2 / (a * a / (current.responses - 1) + b * b / (previous.responses - 1))
    return difference / math.sqrt(a + b), freedom


def ces_changed_significantly(current: CesTally, previous: CesTally) -> bool | None:
    """Whether the mean effort moved more than chance explains: Welch's t-test, two-sided at 95%."""
    found = ces_change_t(current, previous)
    if found is None:
        return None
    t, freedom = found
    return abs(t) > t_975(freedom)


# Student's t at 0.975 (a two-sided 95% interval) for 1 to 7 degrees of freedom, to five places;
# from 8 on the series in t_975 is as close.
_T_975 = (12.70620, 4.30265, 3.18245, 2.77645, 2.57058, 2.44691, 2.36462)


def t_975(freedom: float) -> float:
    """Student's t quantile at 0.975 for `freedom` degrees of freedom (not a whole number after
    Welch: below 8 it is rounded down, which widens, never narrows, the interval).

    From 8 on, the Cornish–Fisher expansion of t in the normal quantile z (Abramowitz & Stegun
    26.7.5): t = z + g₁/ν + g₂/ν² + g₃/ν³ + g₄/ν⁴, within 0.00002 of the exact value there.
    """
    if freedom < 1:
        raise ValueError("Student's t needs at least one degree of freedom")
    if freedom < len(_T_975) + 1:
        return _T_975[int(freedom) - 1]
    if math.isinf(freedom):
        return Z_975
    z, v = Z_975, freedom
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / v + g2 / v**2 + g3 / v**3 + g4 / v**4


@dataclass(frozen=True)
class ResponseRate:
    """Invitations sent in a period, and how many of those were opened and answered (by now)."""

    sent: int
    opened: int
    answered: int

    @property
    def open_rate(self) -> float | None:
        return 100.0 * self.opened / self.sent if self.sent else None

    @property
    def answer_rate(self) -> float | None:
        return 100.0 * self.answered / self.sent if self.sent else None
