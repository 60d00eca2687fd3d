"""Exact functional dependencies enforced on the text serializations (BPE clauses)."""

import pytest

from sdv_llm.evaluation.dependencies import violation_rate
from sdv_llm.single_table import LLMSynthesizer


@pytest.mark.parametrize('serialization', ['text', 'json', 'csv'])
def test_an_undertrained_model_cannot_break_an_exact_dependency(iris, tiny_backbone,
                                                                serialization):
    data, metadata = iris
    data = data.assign(genus=data['species'].map({'setosa': 'a', 'versicolor': 'b',
                                                  'virginica': 'c'}),
                       genus_id=data['species'].map({'setosa': 10, 'versicolor': 20,
                                                     'virginica': 30}))
    metadata.add_column('genus', sdtype='categorical', table_name='iris')
    metadata.add_column('genus_id', sdtype='numerical', table_name='iris')
    synthesizer = LLMSynthesizer(metadata, backbone=tiny_backbone, serialization=serialization,
                                 column_order='fd', epochs=1, batch_size=32, enable_gpu=False,
                                 random_state=0, lora={'r': 4, 'lora_alpha': 8},
                                 sample_batch_size=128)
    synthesizer.fit({'iris': data})
    dependencies = synthesizer.get_column_order()['dependencies']
    assert any(d.lhs == ('species',) and d.rhs == 'genus' for d in dependencies)
    assert synthesizer._model.dependency_table is not None
    table = synthesizer.sample(150)['iris']
    assert violation_rate(data, table, dependencies) == 0.0
    conditioned = synthesizer.sample(20, conditions={'species': 'virginica'})['iris']
    assert (conditioned['genus'] == 'c').all() and (conditioned['genus_id'] == 30).all()
