from django.urls import path

from students import views

app_name = "students"

urlpatterns = [
    path("schools/", views.school_list, name="school_list"),
    path("schools/<int:pk>/", views.school_detail, name="school_detail"),
    path("students/", views.student_list, name="student_list"),
    path("students/new/", views.student_create, name="student_create"),
    path("students/<int:pk>/", views.student_detail, name="student_detail"),
    path("students/<int:pk>/edit/", views.student_edit, name="student_edit"),
    path("students/<int:pk>/categories/", views.category_add, name="category_add"),
    path("students/<int:pk>/transfer/", views.student_transfer, name="student_transfer"),
]
