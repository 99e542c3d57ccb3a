"""Base classes shared by every protocol model: camelCase on the wire, strict params."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Strict
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

E = TypeVar("E", bound=StrEnum)


def _text_only(value: object) -> object:
    if isinstance(value, bytes | bytearray):
        raise PydanticCustomError("string_type", "Input should be a valid string")
    return value


WireEnum = Annotated[E, Strict(False), BeforeValidator(_text_only)]
"""A ``protocol.vocabulary`` enum as a field of a strict ``Params`` model: msgpack has no
enums, so the member is looked up from its wire string (and from nothing but a string)."""


class Params(BaseModel):
    """Request params: unknown fields and wrong types are refused (strict, no coercion)."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        strict=True,
        frozen=True,
        defer_build=True,  # validators are built on first use: start-up stays fast
    )


class Result(BaseModel):
    """A result or event payload sent by the server. Clients must ignore unknown fields."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        frozen=True,
        defer_build=True,
    )

    def wire(self) -> dict[str, object]:
        """The dict that goes on the wire (camelCase, ``None`` fields kept explicit)."""
        return self.model_dump(by_alias=True, mode="python")


class Empty(Params):
    """No params."""


class EmptyResult(Result):
    """No result beyond success."""
