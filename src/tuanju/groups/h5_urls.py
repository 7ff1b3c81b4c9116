"""Public mobile (H5) pages for young people: no staff login."""

from django.urls import path

from tuanju.groups import h5

app_name = "h5"
urlpatterns = [
    path("join/<str:token>/", h5.join, name="join"),
    path("joined/<str:receipt>/", h5.joined, name="joined"),
]
