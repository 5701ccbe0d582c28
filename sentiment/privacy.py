"""Sentiment's part of a customer's data (registered with surveys.customer_data.privacy by sentiment/apps.py):
the scores and theme tags of their answers, which hold no text and stay through erasure; they
are exported with each answer by feedback. The shop models their comments taught are deleted
by feedback's erasure through `domain.forget_shop_models`."""

from surveys.customer_data.privacy import PersonalData

PERSONAL_DATA = PersonalData(models=frozenset({"sentiment.SentimentScore", "sentiment.AnswerTheme"}))
