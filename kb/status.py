"""What is in a knowledge base: counts per entity and the schema version."""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from kb import migrations

COUNTED = ("sources", "documents", "comments", "people", "statements", "labels", "label_archive")


@dataclass
class Status:
    path: str
    schema_version: int
    latest_schema_version: int
    counts: dict[str, int]
    failed_sources: int

    def lines(self) -> list[str]:
        out = [f"database: {self.path}",
               f"schema: version {self.schema_version} of {self.latest_schema_version}"]
        out += [f"{name}: {count}" for name, count in self.counts.items()]
        out.append(f"failed sources: {self.failed_sources}")
        return out


def kb_status(db: Database, path: str) -> Status:
    counts = {name: db[name].count for name in COUNTED}
    failed = db["sources"].count_where("status = 'failed'")
    return Status(path=path, schema_version=migrations.schema_version(db),
                  latest_schema_version=len(migrations.MIGRATIONS), counts=counts,
                  failed_sources=failed)
