"""Public mobile (H5) pages: no staff login."""

from django.urls import path

from tuanju.surveys import h5

app_name = "h5-surveys"
urlpatterns = [
    path("s/<str:token>/", h5.answer, name="answer"),
    path("thanks/<str:receipt>/", h5.thanks, name="thanks"),
    path("me/<str:token>/", h5.inbox, name="inbox"),
]
