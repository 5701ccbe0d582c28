from feedback.flagging import flag_response
from feedback.models import FollowUp, Response
from sentiment.domain import score_answer

# --- Analysis and flagging ---------------------------------------------------------


def analyse_response(response: Response) -> FollowUp | None:
    """Score the comments, then flag the response if any rule fires."""
    for answer in response.answers.exclude(text=""):
        score_answer(answer)
    return flag_response(response)
