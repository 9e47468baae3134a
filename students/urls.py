from django.urls import path

from students import views, views_rollover

app_name = "students"

urlpatterns = [
    path("schools/", views.school_list, name="school_list"),
    path("schools/<int:pk>/", views.school_detail, name="school_detail"),
    path("townships/merge/", views.township_merge, name="township_merge"),
    path("students/", views.student_list, name="student_list"),
    path("students/new/", views.student_create, name="student_create"),
    path("students/<int:pk>/", views.student_detail, name="student_detail"),
    path("students/<int:pk>/edit/", views.student_edit, name="student_edit"),
    path("students/<int:pk>/categories/", views.category_add, name="category_add"),
    path("students/<int:pk>/transfer/", views.student_transfer, name="student_transfer"),
    path("students/export.xlsx", views.student_export, name="student_export"),
    path("students/import/", views.student_import, name="student_import"),
    path("students/import/template.xlsx", views.import_template, name="import_template"),
    path("students/roll/", views.roll_import, name="roll_import"),
    path("students/roll/missing/", views.missing_list, name="missing_list"),
    path("students/roll/missing/<int:pk>/resolve/", views.missing_resolve, name="missing_resolve"),
    path("imports/<int:pk>/", views.import_detail, name="import_detail"),
    path("imports/<int:pk>/apply/", views.import_apply, name="import_apply"),
    path("imports/<int:pk>/errors.xlsx", views.import_errors, name="import_errors"),
    path("imports/<int:pk>/results.xlsx", views.import_results, name="import_results"),
    path("rollover/", views_rollover.rollover_index, name="rollover"),
    path("rollover/mine/", views_rollover.rollover_mine, name="rollover_mine"),
    path("rollover/<int:year>/apply/", views_rollover.rollover_apply, name="rollover_apply"),
    path("rollover/<int:year>/undo/", views_rollover.rollover_undo, name="rollover_undo"),
    path(
        "rollover/<int:year>/schools/<int:school_pk>/", views_rollover.rollover_school, name="rollover_school"
    ),
]
