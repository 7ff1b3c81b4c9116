"""Public mobile (H5) pages: no staff login."""

from django.urls import path

from . import h5

app_name = "h5-mobilize"
urlpatterns = [
    path("g/<str:token>/", h5.group_page, name="group"),
    path("<str:token>/", h5.receipt_page, name="receipt"),
    path("<str:token>/ack/", h5.receipt_ack, name="ack"),
    path("<str:token>/signup/", h5.receipt_signup, name="signup"),
]
