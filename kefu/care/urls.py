from __future__ import annotations

from django.urls import path

from kefu.care import views

app_name = "care"

# Under /metrics/ where sellers first met the archive: their bookmarks and links keep working.
urlpatterns = [
    path("metrics/cases/", views.cases, name="cases"),
    path("metrics/cases/new/", views.new_case, name="case_new"),
]
