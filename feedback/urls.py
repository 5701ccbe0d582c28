from django.urls import path

from feedback import preview, views

urlpatterns = [
    path("s/<str:token>/", views.answer, name="answer"),
    path("s/<str:token>/more/", views.answer_more, name="answer_more"),
    path("s/<str:token>/thanks/", views.answer_thanks, name="answer_thanks"),
    path("preview/survey/", preview.survey_preview, name="survey_preview"),
]
