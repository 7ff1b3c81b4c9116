from django.urls import path

from . import views

app_name = "ratings"
urlpatterns = [
    path("", views.ranking, name="ranking"),
    path("compute/", views.compute, name="compute"),
    path("export/", views.export, name="export"),
    path("formula/", views.formula_page, name="formula"),
    path("formula/publish/", views.formula_publish, name="formula-publish"),
    path("benefits/", views.benefits, name="benefits"),
    path("benefits/<slug:code>/", views.benefit, name="benefit"),
    path("grants/<int:pk>/revoke/", views.revoke, name="revoke"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/grant/", views.grant_one, name="grant"),
]
