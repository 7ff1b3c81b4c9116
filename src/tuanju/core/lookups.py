"""``path__subtree``: the materialized-path prefix test, index-backed on both databases.

Django's ``startswith`` compiles to ``LIKE 'P%' ESCAPE '\\'``. PostgreSQL answers that from
the ``varchar_pattern_ops`` index Django creates for the path column; SQLite only uses an
index for LIKE under ``PRAGMA case_sensitive_like``, which would also make every
``icontains`` in the project case-sensitive. ``GLOB`` is case-sensitive by definition and
SQLite turns ``GLOB 'P*'`` into an index range, so SQLite gets GLOB and PostgreSQL LIKE.
Paths are base-36 upper-case alphanumerics, so neither wildcard syntax needs escaping; any
other character is refused rather than escaped.
"""

import re

from django.db.models import CharField, Lookup

_PATH = re.compile(r"^[0-9A-Z]*$")


@CharField.register_lookup
class Subtree(Lookup):
    lookup_name = "subtree"

    def get_db_prep_lookup(self, value, connection):
        if not isinstance(value, str) or not _PATH.match(value):
            raise ValueError(f"not a tree path: {value!r}")
        wildcard = "*" if connection.vendor == "sqlite" else "%"
        return ("%s", [value + wildcard])

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        operator = "GLOB" if connection.vendor == "sqlite" else "LIKE"
        return f"{lhs} {operator} {rhs}", [*lhs_params, *rhs_params]
