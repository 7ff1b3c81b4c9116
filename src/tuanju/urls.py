from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from tuanju.core import views as core_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("favicon.ico", RedirectView.as_view(url=static("tuanju/favicon.svg"), permanent=True)),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("units/", include("tuanju.hierarchy.urls")),
    path("people/", include("tuanju.people.urls")),
    path("organizations/", include("tuanju.organizations.urls")),
    path("groups/", include("tuanju.groups.urls")),
    path("h5/", include("tuanju.groups.h5_urls")),
    path("h5/appeals/", include("tuanju.appeals.h5_urls")),
    path("h5/surveys/", include("tuanju.surveys.h5_urls")),
    path("h5/activities/", include("tuanju.activities.h5_urls")),
    path("h5/d/", include("tuanju.mobilize.h5_urls")),
    path("activities/", include("tuanju.activities.urls")),
    path("directives/", include("tuanju.mobilize.urls")),
    path("ratings/", include("tuanju.ratings.urls")),
    path("insights/", include("tuanju.insights.urls")),
    path("h5/news/", include("tuanju.insights.h5_urls")),
    path("appeals/", include("tuanju.appeals.urls")),
    path("surveys/", include("tuanju.surveys.urls")),
    path("audit/", include("tuanju.audit.urls")),
    path("accounts/", include("tuanju.accounts.urls")),
    path("api/v1/", include("tuanju.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path(settings.ADMIN_URL, admin.site.urls),
]
