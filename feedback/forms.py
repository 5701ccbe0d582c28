from django import forms

from feedback.domain import COMMENT_MAX_LENGTH


class AnswerForm(forms.Form):
    score = forms.TypedChoiceField(
        choices=[(score, str(score)) for score in range(11)],
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": "Please choose a score from 0 to 10."},
    )
    comment = forms.CharField(
        required=False,
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
