"""Reading a response once it is answered: its comments scored (feedback.comments), then flagged
if a rule fires (casework.flagging); and the sweep that reads responses whose reading was lost."""

from collections.abc import Callable
from datetime import datetime, timedelta

from feedback.casework.flagging import flag_response
from feedback.comments import score_answer
from feedback.models import FollowUp, Response

# --- Analysis and flagging ---------------------------------------------------------


def analyse_response(response: Response) -> FollowUp | None:
    """Score the comments, then flag the response if any rule fires; the response is then read,
    unless its answers changed again meanwhile (that later change has its own reading)."""
    wanted = response.analysis_wanted_at
    for answer in response.answers.exclude(text=""):
        score_answer(answer)
    case = flag_response(response)
    if wanted is not None:
        Response.objects.filter(pk=response.pk, analysis_wanted_at=wanted).update(analysis_wanted_at=None)
    return case


def read_forgotten(
    *,
    now: datetime,
    waited: timedelta,
    limit: int = 500,
    read: Callable[[Response], FollowUp | None] = analyse_response,
) -> int:
    """Read the responses that have waited longer than `waited` (their reading was lost with the
    broker, or its worker died), oldest first, at most `limit`, with `read` (the task passes its
    own, which also alerts); how many were read."""
    forgotten = list(
        Response.objects.filter(analysis_wanted_at__lt=now - waited).order_by("analysis_wanted_at")[:limit]
    )
    for response in forgotten:
        read(response)
    return len(forgotten)
