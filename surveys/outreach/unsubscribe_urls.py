"""The unsubscribe link's page (/u/<token>/)."""

from django.urls import path

from surveys.outreach import unsubscribe_views

urlpatterns = [
    path("u/<str:token>/", unsubscribe_views.unsubscribe, name="unsubscribe"),
]
