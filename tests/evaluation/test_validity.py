"""Invalid rows: values the metadata does not allow."""

from sdv_llm.evaluation.validity import invalid_rows


def test_invalid_rows_counts_unknown_categories_and_out_of_range_numbers(table):
    data, metadata = table
    bad = data.copy()
    bad.loc[0, 'c'] = 'unknown'
    bad.loc[1, 'x'] = 1e6
    assert invalid_rows(data, metadata) == 0
    assert invalid_rows(bad, metadata) == 2
