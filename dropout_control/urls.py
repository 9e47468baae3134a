from django.urls import path

from dropout_control import views

app_name = "dropout"

urlpatterns = [
    path("", views.index, name="index"),
    path("cases/", views.case_list, name="case_list"),
    path("cases/new/", views.case_create, name="case_create"),
    path("cases/<int:pk>/", views.case_detail, name="case_detail"),
    path("cases/<int:pk>/edit/", views.case_edit, name="case_edit"),
    path("cases/<int:pk>/visits/", views.case_add_visit, name="case_add_visit"),
    path("cases/<int:pk>/team/", views.case_set_team, name="case_set_team"),
    path("cases/<int:pk>/close/", views.case_close, name="case_close"),
    path("cases/<int:pk>/reopen/", views.case_reopen, name="case_reopen"),
    path("cases/<int:pk>/home-visits/", views.home_visit_add, name="home_visit_add"),
    path("cases/<int:pk>/return/", views.case_return, name="case_return"),
    path("cases/<int:pk>/confirm-month/", views.watch_confirm, name="watch_confirm"),
    path("cases/<int:pk>/closing-request/", views.case_closing_request, name="case_closing_request"),
    path("closings/", views.closing_list, name="closing_list"),
    path("closings/<int:pk>/confirm/", views.closing_confirm, name="closing_confirm"),
    path("closings/<int:pk>/reject/", views.closing_reject, name="closing_reject"),
    path("watches/", views.watch_list, name="watch_list"),
    path("watch-policy/", views.watch_policy, name="watch_policy"),
    path("home-teaching/", views.home_teaching, name="home_teaching"),
    path("zero-reports/", views.zero_reports, name="zero_reports"),
    path("ledger/", views.ledger, name="ledger"),
    path("ledger/export/", views.ledger_export, name="ledger_export"),
    path("ledger/print/", views.ledger_print, name="ledger_print"),
    path("register/", views.register, name="register"),
    path("register/<int:pk>/", views.upload_detail, name="upload_detail"),
    path("register/<int:pk>/export/", views.upload_export, name="upload_export"),
    path("suspects/", views.suspect_list, name="suspect_list"),
    path("suspects/<int:pk>/confirm/", views.suspect_confirm, name="suspect_confirm"),
    path("suspects/<int:pk>/clear/", views.suspect_clear, name="suspect_clear"),
    path("absences/", views.absence_list, name="absence_list"),
    path("absences/<int:pk>/end/", views.absence_end, name="absence_end"),
    path("care/", views.care_roster, name="care_roster"),
    path("care/<int:pk>/", views.care_student, name="care_student"),
]
