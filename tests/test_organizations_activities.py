"""The 四有 "有活动" criterion with the activity source the activities app registers (when installed)."""

import pytest

from tuanju.organizations import actions, hooks
from tuanju.organizations.models import Organization

pytest_plugins = ["test_organizations_fixtures"]


def test_installed_source_counts_activities(sample_orgs):
    if hooks.activity_source() is None:
        pytest.skip("no activities app registered an activity source")
    rows = {o.pk: o for o in Organization.objects.with_four_have()}
    # No activity was recorded: every organization misses "有活动", so none meets 四有.
    assert all(o.has_activity is False and o.four_have is False for o in rows.values())
    summary = actions.four_have_summary(Organization.objects.all())
    assert summary["activity_counted"] and summary["no_activity"] == 4 and summary["passing"] == 0
    assert sample_orgs["good"].four_have_status()["activity"] is False
