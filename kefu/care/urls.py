from __future__ import annotations

from django.urls import path

from kefu.care import followup_views, review_views, views

app_name = "care"

urlpatterns = [
    # Under /metrics/ where sellers first met the archive: their bookmarks and links keep working.
    path("metrics/cases/", views.cases, name="cases"),
    path("metrics/cases/new/", views.new_case, name="case_new"),
    path("care/complaints/", views.complaints, name="complaints"),
    path("care/complaints/new/", views.new_complaint, name="complaint_new"),
    path("care/complaints/analysis/", views.analysis_page, name="analysis"),
    path("care/complaints/<int:complaint_id>/", views.complaint, name="complaint"),
    path("care/promises/", views.promises, name="promises"),
    path("care/promises/new/", views.new_promise, name="promise_new"),
    path("care/promises/commitment/", views.new_commitment, name="commitment_new"),
    path("care/promises/<int:promise_id>/close/", views.close_promise, name="promise_close"),
    path("care/alerts/bar/", views.alerts_bar, name="alerts_bar"),
    path("care/alerts/<int:alert_id>/", views.alert, name="alert"),
    path("care/alerts/<int:alert_id>/dismiss/", views.dismiss_alert, name="alert_dismiss"),
    path("care/returns/", views.returns_list, name="returns"),
    path("care/returns/new/", views.new_return, name="return_new"),
    path("care/returns/<int:return_id>/", views.return_detail, name="return"),
    path("care/returns/<int:return_id>/send/", views.send_return_script, name="return_send"),
    path("care/revisits/", followup_views.revisits, name="revisits"),
    path("care/revisits/act/", followup_views.revisit_act, name="revisit_act"),
    path("care/revisits/<int:revisit_id>/case/", followup_views.revisit_case, name="revisit_case"),
    path("care/follow-ups/", followup_views.follow_ups, name="follow_ups"),
    path("care/calls/", views.calls, name="calls"),
    path("care/feedback/", views.feedback_list, name="feedback"),
    path("care/feedback/new/", views.new_feedback, name="feedback_new"),
    path("care/settings/", views.care_settings, name="settings"),
    # Reviews and the revisit call button.
    path("care/reviews/", review_views.reviews_page, name="reviews"),
    path("care/reviews/import/", review_views.import_reviews_page, name="reviews_import"),
    path("care/reviews/settings/", review_views.review_settings, name="review_settings"),
    path("care/reviews/invite/", review_views.invite, name="review_invite"),
    path("care/reviews/tasks/<int:task_id>/", review_views.review_task, name="review_task"),
]
