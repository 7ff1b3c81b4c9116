"""The REST API under /api/v1/. Each app registers its viewsets here."""

from rest_framework.routers import DefaultRouter

from tuanju.activities.api import register as register_activities
from tuanju.appeals.api import register as register_appeals
from tuanju.groups.api import register as register_groups
from tuanju.hierarchy.api import UnitViewSet
from tuanju.insights.api import register as register_insights
from tuanju.mobilize.api import register as register_mobilize
from tuanju.organizations.api import register as register_organizations
from tuanju.people.api import register as register_people
from tuanju.ratings.api import register as register_ratings
from tuanju.surveys.api import register as register_surveys

router = DefaultRouter()
router.register("units", UnitViewSet, basename="unit")
register_people(router)
register_organizations(router)
register_groups(router)
register_activities(router)
register_mobilize(router)
register_ratings(router)
register_appeals(router)
register_surveys(router)
register_insights(router)

urlpatterns = router.urls
