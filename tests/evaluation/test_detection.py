"""Detection (C2ST) cannot tell a table from its copy."""

import pytest

from sdv_llm.evaluation.detection import detection_score


def test_detection_is_one_for_identical_tables(table):
    data, metadata = table
    assert detection_score(data, data.copy(), metadata) == pytest.approx(1.0, abs=0.05)
