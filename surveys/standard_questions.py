"""The questions a new survey starts with, in English and Persian; shops edit them in the admin."""

from typing import Any

from surveys.models import Question, Survey

Kind, Topic = Question.Kind, Question.Topic

STANDARD_QUESTIONS: list[dict[str, Any]] = [
    {
        "kind": Kind.NPS,
        "required": True,
        "text": "How likely are you to recommend us to a friend or colleague?",
        "text_fa": "چقدر احتمال دارد ما را به دوست یا همکارتان پیشنهاد کنید؟",
    },
    {
        "kind": Kind.MULTIPLE,
        "show_from": 0,
        "show_to": 6,
        "text": "What went wrong?",
        "text_fa": "چه چیزی درست پیش نرفت؟",
        "options": [
            {"value": "late", "en": "Delivery was late", "fa": "تحویل دیر انجام شد"},
            {"value": "damaged", "en": "Arrived damaged", "fa": "آسیب‌دیده رسید"},
            {"value": "not_as_described", "en": "Not as described", "fa": "با توضیحات همخوانی نداشت"},
            {"value": "price", "en": "Price", "fa": "قیمت"},
            {"value": "support", "en": "Customer support", "fa": "پشتیبانی"},
        ],
    },
    {
        "kind": Kind.COMMENT,
        "show_from": 0,
        "show_to": 6,
        "text": "What should we improve?",
        "text_fa": "چه چیزی را باید بهتر کنیم؟",
    },
    {
        "kind": Kind.COMMENT,
        "show_from": 7,
        "show_to": 8,
        "text": "What would make it a 10?",
        "text_fa": "چه چیزی امتیاز را به ۱۰ می‌رساند؟",
    },
    {
        "kind": Kind.COMMENT,
        "show_from": 9,
        "show_to": 10,
        "text": "What did you like most?",
        "text_fa": "چه چیزی را بیشتر از همه پسندیدید؟",
    },
    {
        "kind": Kind.CSAT,
        "topic": Topic.DELIVERY,
        "text": "How satisfied are you with the delivery?",
        "text_fa": "از تحویل سفارش چقدر راضی هستید؟",
    },
    {
        "kind": Kind.SINGLE,
        "topic": Topic.AS_DESCRIBED,
        "text": "Was the product as described?",
        "text_fa": "آیا کالا همان‌طور بود که توضیح داده شده بود؟",
        "options": [
            {"value": "yes", "en": "Yes", "fa": "بله"},
            {"value": "partly", "en": "Partly", "fa": "تا حدی"},
            {"value": "no", "en": "No", "fa": "خیر"},
        ],
    },
]


def add_standard_questions(survey: Survey) -> list[Question]:
    return Question.objects.bulk_create(
        Question(survey=survey, position=position, **fields) for position, fields in enumerate(STANDARD_QUESTIONS)
    )
