"""Spark schemas derived from the pydantic models, so the models stay the one source of truth.

A field added to :class:`tonecheck.Finding` appears in every Spark output without an edit
here; the tests compare the derived struct with the model field by field.
"""
from __future__ import annotations

import enum
import types
import typing
from typing import Any, Literal, Union

from pydantic import BaseModel
from pyspark.sql import types as T

from ..models import Finding

_SCALARS: dict[type, T.DataType] = {str: T.StringType(), int: T.LongType(), float: T.DoubleType(),
                                    bool: T.BooleanType()}


def spark_type(annotation: Any) -> T.DataType:
    """The Spark type for one pydantic field annotation (scalars, enums, literals, optionals,
    lists, str-keyed dicts, nested models)."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) != 1:
            raise TypeError(f"no Spark type for the union {annotation!r}")
        return spark_type(args[0])
    if origin is Literal:
        kinds = {type(a) for a in typing.get_args(annotation)}
        if len(kinds) != 1:
            raise TypeError(f"no Spark type for a literal of mixed types {annotation!r}")
        return spark_type(kinds.pop())
    if origin in (list, tuple, set, frozenset):
        (item, *_rest) = typing.get_args(annotation) or (str,)
        return T.ArrayType(spark_type(item), containsNull=True)
    if origin is dict:
        key, value = typing.get_args(annotation)
        if key is not str:
            raise TypeError(f"only str-keyed dicts map to Spark maps, not {annotation!r}")
        return T.MapType(T.StringType(), spark_type(value), valueContainsNull=True)
    if isinstance(annotation, type):
        if issubclass(annotation, enum.Enum):
            values = {type(m.value) for m in annotation}
            return spark_type(values.pop() if len(values) == 1 else str)
        if issubclass(annotation, BaseModel):
            return struct_from_model(annotation)
        if issubclass(annotation, bool):
            return _SCALARS[bool]
        for py, st in _SCALARS.items():
            if issubclass(annotation, py):
                return st
    raise TypeError(f"no Spark type for {annotation!r}")


def struct_from_model(model: type[BaseModel], prefix: list[T.StructField] = ()) -> T.StructType:
    """A StructType with one field per model field, in declaration order, after ``prefix``.

    Every field is nullable (a status row has no findings to fill them); the field's
    description becomes the column comment (Hive and Delta show it).
    """
    fields = list(prefix)
    for name, info in model.model_fields.items():
        meta = {"comment": info.description} if info.description else {}
        fields.append(T.StructField(name, spark_type(info.annotation), nullable=True, metadata=meta))
    return T.StructType(fields)


def finding_struct() -> T.StructType:
    """One finding, exactly the fields of :class:`tonecheck.Finding`."""
    return struct_from_model(Finding)


def call_finding_struct() -> T.StructType:
    """A finding in a call's list: the turn it is in (null for call-level contact findings),
    who spoke, then the :class:`tonecheck.Finding` fields."""
    return struct_from_model(Finding, [T.StructField("turn", T.LongType(), True),
                                       T.StructField("speaker", T.StringType(), True)])


def finding_field_names() -> list[str]:
    return list(Finding.model_fields)
