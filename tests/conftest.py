import os
import shutil
import sys
from pathlib import Path

import pytest

from tuanju.accounts.models import Role, User
from tuanju.hierarchy import actions as hierarchy
from tuanju.hierarchy.actions import NewUnit
from tuanju.hierarchy.models import Level, OrgUnit

PASSWORD = "Str0ng-Passw0rd!"


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db):
    """Zhejiang's real divisions, plus two towns with tower units under Yiwu and one under Dongyang."""
    hierarchy.load_divisions(["33"])
    yiwu = OrgUnit.objects.get(code="330782")
    dongyang = OrgUnit.objects.get(code="330783")
    hierarchy.bulk_insert(
        yiwu,
        [
            NewUnit(
                "330782001",
                "稠城街道",
                Level.TOWN,
                children=[
                    NewUnit(
                        "330782001001",
                        "华新社区",
                        Level.TIER1,
                        kind="社区",
                        children=[
                            NewUnit(
                                "330782001001001",
                                "锦绣小区",
                                Level.TIER2,
                                children=[
                                    NewUnit("330782001001001001", "1幢1单元", Level.TIER3),
                                ],
                            ),
                        ],
                    ),
                ],
            ),
            NewUnit("330782002", "江东街道", Level.TOWN),
        ],
    )
    hierarchy.bulk_insert(dongyang, [NewUnit("330783001", "吴宁街道", Level.TOWN)])
    return {
        code: OrgUnit.objects.get(code=code)
        for code in ["330000", "330700", "330782", "330783", "330782001", "330782001001", "330783001"]
    }


def make_staff(username, unit, role=Role.CADRE):
    user = User(username=username, unit=unit, role=role)
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def staff(world):
    return {
        "city_admin": make_staff("city_admin", world["330700"], Role.ADMIN),
        "yiwu_admin": make_staff("yiwu_admin", world["330782"], Role.ADMIN),
        "yiwu_cadre": make_staff("yiwu_cadre", world["330782"], Role.CADRE),
        "yiwu_viewer": make_staff("yiwu_viewer", world["330782"], Role.VIEWER),
        "dongyang_cadre": make_staff("dongyang_cadre", world["330783"], Role.CADRE),
    }


@pytest.fixture
def client_for(client):
    def login(user):
        client.force_login(user)
        return client

    return login


# --- Added for the foundation suite (new fixtures only) ---------------------------------

SRC_DIR = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture
def staff_password():
    """The password of every account made by ``staff`` / ``make_user``."""
    return PASSWORD


@pytest.fixture
def make_user(db):
    """``make_user(username, unit, role)``: one more staff account with the shared test password."""
    return make_staff


@pytest.fixture
def nounit_user(db):
    """An active admin-role account bound to no unit: it must see nothing."""
    return make_staff("nobody", None, Role.ADMIN)


@pytest.fixture
def tuanju_bin():
    """The `tuanju` console script of the interpreter running the tests."""
    candidate = Path(sys.executable).parent / "tuanju"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("tuanju")
    if found is None:
        pytest.fail("the `tuanju` console script is not installed next to the test interpreter")
    return found


@pytest.fixture
def subprocess_env(tmp_path):
    """Environment for `tuanju` subprocesses: this checkout's code, a private var dir, no debug."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST_", "DJANGO_", "HUEY_")) and key not in {"REDIS_URL", "DATABASE_URL"}
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "tuanju.settings",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC_DIR), os.environ.get("PYTHONPATH")])),
            "TUANJU_VAR_DIR": str(tmp_path / "var"),
            "DEBUG": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env
