"""Domain operations on staff accounts."""

from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from rest_framework.authtoken.models import Token

from tuanju.accounts.models import Role, User
from tuanju.audit.actions import record
from tuanju.hierarchy.models import OrgUnit


@transaction.atomic
def create_staff(
    *, username: str, password: str, unit: OrgUnit, role: str, actor=None, full_name: str = "", request=None
) -> User:
    if role not in Role.values:
        raise ValueError(f"unknown role {role!r}; choose one of {', '.join(Role.values)}")
    user = User(username=username, unit=unit, role=role, first_name=full_name[:150], is_staff=False)
    validate_password(password, user)
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    record(actor, "create", user, unit=unit, request=request, details={"role": role, "unit": unit.code})
    return user


def issue_token(user: User, *, actor=None) -> str:
    token, _created = Token.objects.get_or_create(user=user)
    record(actor, "token_issued", user, unit=user.unit)
    return token.key
