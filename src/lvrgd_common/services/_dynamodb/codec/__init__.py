"""The stored form of a value, the only place that knows it.

- `shape`: what the codec needs to know about one model class, worked out once;
- `encode`: models and single field values -> AttributeValues (save, update, conditions,
  filters all call it);
- `decode`: stored items -> models;
- `size`: the 400 KB rule;
- `form`: the AttributeValue types, DynamoDB's limits and the codec's errors.
"""

from lvrgd_common.services._dynamodb.codec.decode import (
    decode_item,
    decode_model,
    decode_value,
    describe_errors,
    model_decoder,
)
from lvrgd_common.services._dynamodb.codec.encode import (
    NEVER_STORED,
    encode_field,
    encode_item,
    encode_sized_item,
    encode_value,
)
from lvrgd_common.services._dynamodb.codec.form import (
    MAX_ITEM_BYTES,
    MAX_PARTITION_KEY_BYTES,
    MAX_SORT_KEY_BYTES,
    AttributeValue,
    CodecError,
    InvalidInputError,
    Item,
    ItemDecodeError,
    UnfitItemError,
    is_utf8,
)
from lvrgd_common.services._dynamodb.codec.size import item_size

__all__ = [
    "MAX_ITEM_BYTES",
    "MAX_PARTITION_KEY_BYTES",
    "MAX_SORT_KEY_BYTES",
    "NEVER_STORED",
    "AttributeValue",
    "CodecError",
    "InvalidInputError",
    "Item",
    "ItemDecodeError",
    "UnfitItemError",
    "decode_item",
    "decode_model",
    "decode_value",
    "describe_errors",
    "encode_field",
    "encode_item",
    "encode_sized_item",
    "encode_value",
    "is_utf8",
    "item_size",
    "model_decoder",
]
