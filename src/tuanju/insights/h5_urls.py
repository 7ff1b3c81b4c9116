"""Public mobile (H5) pages: no staff login."""

from django.urls import path

from . import h5

app_name = "h5-insights"
urlpatterns = [
    path("unit/<str:code>/", h5.public_list, name="list"),
    path("<str:key>/", h5.public_detail, name="detail"),
]
