"""Functional dependencies in synthetic rows: how often they break what the real data holds.

The dependencies are found on the real table (``sdv_llm.schema.dependencies``); this metric
only reads their ``lhs`` and ``rhs``.
"""

import numpy as np


def violation_rate(real, synthetic, dependencies):
    """Fraction of synthetic rows that break a dependency as it holds in the real data.

    For each dependency ``X -> Y`` the real rows give the mapping from each ``X`` value to its
    most common ``Y`` value (the only one for an exact dependency). A synthetic row breaks the
    dependency when its ``X`` value is in that mapping and its ``Y`` value differs; ``X`` values
    the real data lacks have no reference and do not count.

    Args:
        real (pandas.DataFrame): the table the dependencies were found on.
        synthetic (pandas.DataFrame): rows with the same columns.
        dependencies (list[FunctionalDependency]): the dependencies to check.

    Returns:
        float: in ``[0, 1]``, the share of synthetic rows that break at least one dependency
        (0.0 for no rows or no dependencies).
    """
    broken = np.zeros(len(synthetic), dtype=bool)
    for dependency in dependencies:
        columns = list(dependency.lhs) + [dependency.rhs]
        reference = (real[columns].astype(str).value_counts()
                     .reset_index(name='_count')
                     .drop_duplicates(list(dependency.lhs))
                     .drop(columns='_count'))
        merged = synthetic[columns].astype(str).reset_index(drop=True).merge(
            reference, on=list(dependency.lhs), how='left', suffixes=('', '_real'))
        expected = merged[f'{dependency.rhs}_real']
        broken |= (expected.notna() & (expected != merged[dependency.rhs])).to_numpy()
    return float(broken.mean()) if len(broken) else 0.0
