"""API permissions and pagination (kept apart from viewsets: DRF imports these while loading its settings)."""

from rest_framework import pagination, permissions


class IsStaffWithUnit(permissions.BasePermission):
    """Authenticated, active staff bound to a unit (or a superuser); writes need a writer role."""

    message = "需要登录并绑定单位的工作人员账号。"

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        if not (user.is_superuser or getattr(user, "unit_id", None)):
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        return user.can_write


class BoundedLimitOffsetPagination(pagination.LimitOffsetPagination):
    """``?limit=`` is capped: a client cannot pull a million rows in one response."""

    max_limit = 1000
