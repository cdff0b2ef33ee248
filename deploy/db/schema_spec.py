"""checks/schema.yaml -> a validated SchemaSpec (unknown keys and bad values are ConfigError)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from deploy.config.environment import read_yaml, validate

Family = Literal["integer", "decimal", "text", "datetime", "boolean", "binary"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class ColumnSpec(_Model):
    type: Family
    nullable: bool


class IndexSpec(_Model):
    columns: tuple[str, ...] = Field(min_length=1)
    unique: bool = False


class TableSpec(_Model):
    columns: dict[str, ColumnSpec] = Field(min_length=1)
    indexes: tuple[IndexSpec, ...] = ()

    @model_validator(mode="after")
    def _index_columns_exist(self) -> "TableSpec":
        for index in self.indexes:
            unknown = [c for c in index.columns if c not in self.columns]
            if unknown:
                raise ValueError(f"index on ({', '.join(index.columns)}) names unknown column {unknown[0]!r}")
        return self


class SchemaSpec(_Model):
    tables: dict[str, TableSpec] = Field(min_length=1)


def load(path: Path, shown: str | None = None) -> SchemaSpec:
    shown = shown or str(path)
    return parse(read_yaml(Path(path), shown), shown)


def parse(data: object, shown: str = "checks/schema.yaml") -> SchemaSpec:
    return validate(SchemaSpec, data, shown)
