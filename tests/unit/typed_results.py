"""Building typed results (``acuhead.analytics.results``) in tests with only the fields a test
is about: every other required field gets a neutral value (None where the field allows it,
else 0, "", False, an empty list or dict, or a nested result built the same way). The model
still validates what the test gives, so a renamed field fails the test."""

from __future__ import annotations

import types
import typing
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_NEUTRAL: dict[Any, Any] = {int: 0, float: 0.0, bool: False, str: ""}


def _neutral(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if type(None) in args:
            return None
        return _neutral(args[0])
    if origin is Literal:
        return args[0]
    if origin is list or annotation is list:
        return []
    if origin is dict or annotation is dict:
        return {}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return build(annotation)
    if annotation in _NEUTRAL:
        return _NEUTRAL[annotation]
    raise TypeError(f"no neutral value for {annotation!r}: give it in the test")


def build(cls: type[M], **given: Any) -> M:
    """``cls`` with the fields ``given`` and neutral values for every other required field."""
    data = {
        name: _neutral(field.annotation)
        for name, field in cls.model_fields.items()
        if name not in given and field.is_required()
    }
    return cls.model_validate({**data, **given})
