"""REST API building blocks shared by every app."""

from rest_framework import viewsets


class ScopedViewSetMixin:
    """Every API queryset passes the one restriction; a detail outside scope is a 404."""

    def get_queryset(self):
        return super().get_queryset().visible_to(self.request.user)


class ScopedReadOnlyViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass

