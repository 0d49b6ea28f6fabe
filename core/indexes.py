"""An index that case-insensitive prefix search (`name__istartswith`) uses on both databases.

Django turns `istartswith` into `"name" LIKE 'abc%' ESCAPE '\\'` on SQLite, whose LIKE ignores
case: SQLite serves it from an index only when the index uses the NOCASE collation. PostgreSQL
gets `UPPER("name"::text) LIKE UPPER('abc%')`, served by an index on that very expression with the
`text_pattern_ops` operator class (which LIKE needs whatever the database's collation). A plain
`Index` cannot say either, so this one writes each database's own statement. See
docs/benchmarks.md (search) for the query plans.
"""
from django.db import models
from django.db.backends.ddl_references import Columns, Statement, Table

SQL = {
    "sqlite": "CREATE INDEX %(name)s ON %(table)s (%(columns)s COLLATE NOCASE)",
    "postgresql": "CREATE INDEX %(name)s ON %(table)s ((UPPER(%(columns)s::text)) text_pattern_ops)",
}


class CaseInsensitivePrefixIndex(models.Index):
    def __init__(self, *, field: str, name: str):
        super().__init__(fields=[field], name=name)

    def deconstruct(self):
        path, _, kwargs = super().deconstruct()
        return path, (), {"field": kwargs["fields"][0], "name": kwargs["name"]}

    def create_sql(self, model, schema_editor, using="", **kwargs):
        template = SQL.get(schema_editor.connection.vendor)
        if template is None:
            return super().create_sql(model, schema_editor, using=using, **kwargs)
        table = model._meta.db_table
        column = model._meta.get_field(self.fields[0]).column
        return Statement(
            template,
            name=schema_editor.quote_name(self.name),
            table=Table(table, schema_editor.quote_name),
            columns=Columns(table, [column], schema_editor.quote_name),
        )


def distinct_values(model, field: str) -> list[str]:
    """The distinct non-empty values of an indexed column, in order, by one index lookup per value
    (a recursive query that jumps from each value to the next) instead of reading every row:
    a few OS names over 10,000 hosts, a few job kinds over 100,000 jobs."""
    from django.db import connections, router

    connection = connections[router.db_for_read(model)]
    quote = connection.ops.quote_name
    table, column = quote(model._meta.db_table), quote(model._meta.get_field(field).column)
    sql = (
        f"WITH RECURSIVE v(value) AS ("
        f" SELECT MIN({column}) FROM {table} WHERE {column} > %s"
        f" UNION ALL SELECT (SELECT MIN({column}) FROM {table} WHERE {column} > v.value) FROM v"
        f" WHERE v.value IS NOT NULL"
        f") SELECT value FROM v WHERE value IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [""])
        return [row[0] for row in cursor.fetchall()]
