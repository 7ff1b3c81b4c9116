"""Public mobile (H5) pages: no staff login."""

from django.urls import path

from tuanju.appeals import h5

app_name = "h5-appeals"
urlpatterns = [
    path("privacy/", h5.privacy, name="privacy"),
    path("new/<str:token>/", h5.new, name="new"),
    path("t/<str:token>/", h5.follow, name="follow"),
    path("checkin/<str:token>/", h5.checkin, name="checkin"),
]
