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


class CaseInsensitivePrefixIndex(models.Index):
    SQL = {
        "sqlite": "CREATE INDEX %(name)s ON %(table)s (%(columns)s COLLATE NOCASE)",
        "postgresql": "CREATE INDEX %(name)s ON %(table)s ((UPPER(%(columns)s::text)) text_pattern_ops)",
    }

    def __init__(self, *, field: str, name: str):
        super().__init__(fields=[field], name=name)

    def deconstruct(self):
        path, _, kwargs = super().deconstruct()
        return path, (), {"field": kwargs["fields"][0], "name": kwargs["name"]}

    def create_sql(self, model, schema_editor, using="", **kwargs):
        template = self.SQL.get(schema_editor.connection.vendor)
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
