from django import template

from tuanju.core.scope import user_sees_unit

register = template.Library()


@register.filter
def sees_unit(user, unit) -> bool:
    """``{% if user|sees_unit:crumb %}``: link a unit only when it lies in the user's scope."""
    return user_sees_unit(user, unit)
