from django.urls import path

from tuanju.accounts import views

app_name = "accounts"
urlpatterns = [path("staff/", views.staff_list, name="staff-list")]
