"""The databases' fast paths for bulk writes: PostgreSQL COPY, SQLite executemany."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connection


def insert_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Insert plain tuples (already in database types) into ``table``; returns the row count.

    Runs inside the caller's transaction. No model ``save()``, signals or defaults: the
    caller supplies every NOT NULL column.
    """
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    table_q = connection.ops.quote_name(table)
    count = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table_q} ({quoted}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
        else:
            rows = list(rows)
            placeholders = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {table_q} ({quoted}) VALUES ({placeholders})", rows)  # noqa: S608
            count = len(rows)
    return count
