"""Compact serialization of real tables."""

import numpy as np

from sdv_llm.schema import TableSchema
from sdv_llm.serialization.compact import BOS, EOS, PAD, CompactSerializer


def _columns(metadata, name):
    return metadata.to_dict()['tables'][name]['columns']


def test_titanic_roundtrip_with_nulls(titanic):
    data, metadata = titanic
    schema = TableSchema.fit(data, _columns(metadata, 'titanic'))
    serializer = CompactSerializer(schema)
    ids = serializer.encode(data)
    assert ids.shape == (len(data), serializer.max_length)
    assert (ids[:, 0] == BOS).all() and (ids == EOS).sum(axis=1).tolist() == [1] * len(data)
    back = serializer.decode(ids[:, 1:])
    for column in data.columns:
        expected, got = data[column], back[column]
        assert (expected.isna() == got.isna()).all(), column
        assert (expected[expected.notna()].astype(float if expected.dtype.kind == 'f' else object)
                .tolist() == got[expected.notna()].tolist()), column


def test_every_column_owns_a_disjoint_token_range(iris):
    data, metadata = iris
    serializer = CompactSerializer(TableSchema.fit(data, _columns(metadata, 'iris')))
    owners = serializer.token_column
    assert (owners[:3] == -1).all()
    assert (np.diff(owners[3:]) >= 0).all()
    assert serializer.tokens[PAD] == '<pad>'


def test_column_order_is_followed(iris):
    data, metadata = iris
    order = list(reversed(data.columns))
    serializer = CompactSerializer(TableSchema.fit(data, _columns(metadata, 'iris'),
                                                   column_order=order))
    ids = serializer.encode(data.head(3))
    assert serializer.tokens[ids[0, 1]].startswith('species=')
    assert list(serializer.decode(ids[:, 1:]).columns) == order
