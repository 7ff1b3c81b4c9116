from django.urls import path

from . import views

app_name = "mobilize"
urlpatterns = [
    path("", views.directive_list, name="list"),
    path("new/", views.create, name="create"),
    path("estimate/", views.estimate, name="estimate"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/submit/", views.submit, name="submit"),
    path("<int:pk>/approve/", views.approve, name="approve"),
    path("<int:pk>/reject/", views.reject, name="reject"),
    path("<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("<int:pk>/close/", views.close, name="close"),
    path("<int:pk>/copy/", views.copy, name="copy"),
    path("<int:pk>/reach/", views.reach_panel, name="reach"),
    path("<int:pk>/groups/", views.silent_groups, name="groups"),
    path("<int:pk>/groups/<int:delivery_pk>/ack/", views.ack_group, name="ack-group"),
    path("<int:pk>/people/", views.silent_people, name="people"),
    path("<int:pk>/escalations/", views.escalations, name="escalations"),
    path("<int:pk>/export/", views.export, name="export"),
]
