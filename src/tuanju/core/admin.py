"""Admin classes go through the same visibility restriction as every other view."""


class ScopedAdminMixin:
    def get_queryset(self, request):
        return self.model.objects.visible_to(request.user)
