"""The reports pages: the archive of past reports, asking for one, and downloading its PDF."""

from django.urls import path

from reports import views

urlpatterns = [
    path("reports/", views.archive, name="report_archive"),
    path("reports/make/", views.make, name="report_make"),
    path("reports/<int:run_id>/again/", views.regenerate, name="report_regenerate"),
    path("reports/<int:run_id>/download/", views.download, name="report_download"),
]
