from django.urls import path

from reports import views

urlpatterns = [
    path("reports/<int:run_id>/download/", views.download, name="report_download"),
]
