"""Reading stored items into a model class or a union of them."""

from __future__ import annotations

from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, Field

from lvrgd_common import DynamoDBBaseModel
from lvrgd_common.services._dynamodb.codec import InvalidInputError, encode_item
from lvrgd_common.services._dynamodb.reading import UnfitItemError, reader_of


class Cat(DynamoDBBaseModel):
    species: Literal["cat"] = Field(default="cat", alias="type")
    lives: int = 9


class Dog(DynamoDBBaseModel):
    species: Literal["dog", "wolf"] = Field(default="dog", alias="type")
    toys: set[str] = Field(default_factory=set)


class Plain(BaseModel):
    pk: str


Pet = Annotated[Cat | Dog, Field(discriminator="species")]


def test_a_model_class_reads_as_itself() -> None:
    cat = Cat(pk="p", sk="1")
    assert reader_of(Cat).decode(encode_item(cat)) == cat


def test_the_discriminator_is_read_under_its_stored_alias() -> None:
    reader = reader_of(Pet)
    wolf = Dog.model_validate({"pk": "p", "sk": "2", "type": "wolf"})
    stored = encode_item(wolf)
    assert stored["type"] == {"S": "wolf"}
    assert "toys" not in stored  # an empty set is omitted, and filled in again
    assert reader.decode(stored) == wolf
    assert reader.label == "Cat | Dog"
    assert reader_of(Pet) is reader  # cached


def test_an_unknown_tag_names_the_known_ones_but_not_the_stored_value() -> None:
    with pytest.raises(UnfitItemError, match="is none of 'cat', 'dog', 'wolf'") as caught:
        reader_of(Pet).decode({"pk": {"S": "p"}, "sk": {"S": "3"}, "type": {"S": "fox"}})
    assert "fox" not in str(caught.value)


@pytest.mark.parametrize("bad", [dict, Plain, int | str, Cat | Plain, "Cat", None])
def test_anything_else_is_refused(bad: object) -> None:
    with pytest.raises(InvalidInputError, match="DynamoDBBaseModel subclass or a union"):
        reader_of(bad)
