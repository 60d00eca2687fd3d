"""Marginal KL divergence and correlation/association distances on tables with known answers."""

import numpy as np
import pandas as pd
import pytest

from sdv_llm.evaluation.fidelity import (
    association_frobenius,
    correlation_frobenius,
    kl_divergence,
    mean_kl_divergence,
)
from sdv_llm.evaluation.quality import quality_scores
from tests.evaluation.conftest import independently_permuted


def test_identical_tables_have_zero_kl_and_frobenius(table):
    data, metadata = table
    assert mean_kl_divergence(data, data.copy(), metadata) == 0.0
    assert correlation_frobenius(data, data.copy(), metadata) == 0.0
    assert association_frobenius(data, data.copy(), metadata) == 0.0


def test_kl_of_a_shifted_column_is_positive_and_finite():
    real = pd.Series(np.arange(1000.0))
    assert 0 < kl_divergence(real, real + 500, 'numerical') < np.inf
    assert kl_divergence(pd.Series(['a', 'b'] * 50), pd.Series(['a'] * 100)) > 0.1


def test_permuted_columns_keep_marginals_but_lose_correlations(table):
    data, metadata = table
    permuted = independently_permuted(data)
    assert mean_kl_divergence(data, permuted, metadata) == pytest.approx(0.0, abs=1e-9)
    assert correlation_frobenius(data, permuted, metadata) > 1.0
    assert association_frobenius(data, permuted, metadata) > 1.0
    same = quality_scores(data, data, metadata)
    shuffled = quality_scores(data, permuted, metadata)
    assert shuffled['column_shapes'] == pytest.approx(1.0)
    assert shuffled['column_pair_trends_all_pairs'] < same['column_pair_trends_all_pairs'] - 0.1
