"""The REST API under /api/v1/. Each app registers its viewsets here."""

from rest_framework.routers import DefaultRouter

from tuanju.hierarchy.api import UnitViewSet

router = DefaultRouter()
router.register("units", UnitViewSet, basename="unit")

urlpatterns = router.urls
