"""The portal's home page, a reports view (it shows the dashboards).

portal/urls.py includes this by its dotted name at the root, without a namespace (the page is "home"), so
that no other app imports `reports`.
"""

from django.urls import path

from reports import views

urlpatterns = [path("", views.home, name="home")]
