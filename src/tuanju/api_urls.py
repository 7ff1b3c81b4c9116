"""The REST API under /api/v1/. Each app registers its viewsets here."""

from rest_framework.routers import DefaultRouter

from tuanju.groups.api import register as register_groups
from tuanju.hierarchy.api import UnitViewSet
from tuanju.organizations.api import register as register_organizations
from tuanju.people.api import register as register_people

router = DefaultRouter()
router.register("units", UnitViewSet, basename="unit")
register_people(router)
register_organizations(router)
register_groups(router)

urlpatterns = router.urls
