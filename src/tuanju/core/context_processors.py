from django.conf import settings


def site(request):
    return {
        "SITE_NAME": "团聚",
        "LANGUAGES": settings.LANGUAGES,
    }
