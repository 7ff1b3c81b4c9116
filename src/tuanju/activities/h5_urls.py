"""Public mobile (H5) pages: no staff login."""

from django.urls import path

from tuanju.activities import h5

app_name = "h5-activities"
urlpatterns = [
    path("a/<str:token>/", h5.activity_page, name="activity"),
    path("t/<str:token>/", h5.ticket, name="ticket"),
    path("t/<str:token>/cancel/", h5.ticket_cancel, name="ticket-cancel"),
    path("t/<str:token>/leave/", h5.ticket_leave, name="ticket-leave"),
    path("c/<str:token>/", h5.checkin, name="checkin"),
    path("checkin/", h5.checkin_submit, name="checkin-submit"),
    path("mine/", h5.mine, name="mine"),
]
