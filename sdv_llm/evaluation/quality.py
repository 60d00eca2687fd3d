"""SDMetrics quality and diagnostic reports: single tables (with and without the pair-trend
thresholds) and whole databases."""

from sdmetrics.reports import DiagnosticReport, QualityReport


def quality_scores(real, synthetic, metadata, table_name=None):
    """Score a synthetic table against the real one with SDMetrics.

    Column Pair Trends in sdmetrics 0.32 averages only pairs whose real correlation is above
    0.5 or association above 0.3 (the default); published papers averaged all pairs, so both are
    reported.

    Args:
        real (pandas.DataFrame): the real table.
        synthetic (pandas.DataFrame): the synthetic table, same columns.
        metadata (sdv.metadata.Metadata): SDV metadata holding the table.
        table_name (str or None): which table of ``metadata``; the only one when ``None``.

    Returns:
        dict[str, float]: ``quality``, ``column_shapes``, ``column_pair_trends`` (default
        thresholds), ``quality_all_pairs``, ``column_pair_trends_all_pairs`` and ``diagnostic``
        (all in [0, 1]).
    """
    table_name = table_name or metadata._get_single_table_name()
    metadata_dict = metadata.to_dict()
    metadata_dict['tables'] = {table_name: metadata_dict['tables'][table_name]}
    metadata_dict['relationships'] = []
    real, synthetic = {table_name: real}, {table_name: synthetic}
    scores = {}
    for suffix, threshold in (('', None), ('_all_pairs', 0)):
        report = QualityReport()
        if threshold is not None:
            report.real_correlation_threshold = threshold
            report.real_association_threshold = threshold
        report.generate(real, synthetic, metadata_dict, verbose=False)
        properties = report.get_properties().set_index('Property')['Score']
        scores[f'quality{suffix}'] = float(report.get_score())
        if not suffix:
            scores['column_shapes'] = float(properties['Column Shapes'])
        scores[f'column_pair_trends{suffix}'] = float(properties['Column Pair Trends'])

    diagnostic = DiagnosticReport()
    diagnostic.generate(real, synthetic, metadata_dict, verbose=False)
    scores['diagnostic'] = float(diagnostic.get_score())
    return scores


def _scorable_metadata(metadata):
    """The metadata dict without self-references.

    SDMetrics joins a parent with its child under prefixed names, which a self-reference
    (chinook's employees.ReportsTo) breaks; ``sdv_llm.evaluation.integrity`` still counts its
    keys.
    """
    metadata_dict = metadata.to_dict()
    metadata_dict['relationships'] = [r for r in metadata_dict.get('relationships', [])
                                      if r['parent_table_name'] != r['child_table_name']]
    return metadata_dict


def multi_table_quality_scores(real, synthetic, metadata):
    """SDMetrics multi-table ``QualityReport`` of a synthetic database (self-references left out).

    Args:
        real (dict[str, pandas.DataFrame]): the real database.
        synthetic (dict[str, pandas.DataFrame]): the synthetic database.
        metadata (sdv.metadata.Metadata): its metadata with relationships.

    Returns:
        dict[str, float]: ``quality`` and one score per property (``column_shapes``,
        ``column_pair_trends``, ``cardinality``, ``intertable_trends``).
    """
    from sdmetrics.reports.multi_table import QualityReport

    report = QualityReport()
    report.generate(real, synthetic, _scorable_metadata(metadata), verbose=False)
    scores = report.get_properties().set_index('Property')['Score']
    return {'quality': float(report.get_score()),
            **{k.lower().replace(' ', '_'): float(v) for k, v in scores.items()}}


def multi_table_diagnostic_scores(real, synthetic, metadata):
    """SDMetrics multi-table ``DiagnosticReport`` (self-references left out).

    Args:
        real (dict[str, pandas.DataFrame]): the real database.
        synthetic (dict[str, pandas.DataFrame]): the synthetic database.
        metadata (sdv.metadata.Metadata): its metadata with relationships.

    Returns:
        dict[str, float]: ``diagnostic`` and ``relationship_validity``.
    """
    from sdmetrics.reports.multi_table import DiagnosticReport

    report = DiagnosticReport()
    report.generate(real, synthetic, _scorable_metadata(metadata), verbose=False)
    scores = report.get_properties().set_index('Property')['Score']
    return {'diagnostic': float(report.get_score()),
            'relationship_validity': float(scores['Relationship Validity'])}
