"""Mixed training: rows of a simple baseline synthesizer to train on before the real rows.

A small table gives a language model few examples of how its columns move together; a Gaussian
copula (or FASTGEN's copula) learns the linear part of those relations from the same rows with
far fewer parameters. Mixed training fits such a baseline on the training rows, samples many
rows from it, trains the model on those first and then on the real rows (fine-tuning, with the
usual validation split and early stopping on real rows only). The codecs, the vocabulary and
every value set come from the real rows; baseline rows that a codec cannot write exactly are
dropped. The baseline's rows are never part of what is returned or evaluated.

Source: the project seeds' "mixed training" strategy for small tables (pre-training on
synthetic or augmented rows, then fine-tuning on the real ones; the ITMO thesis on fine-tuning
language models for tabular data generation).
"""

from sdv.errors import SynthesizerInputError

from sdv_llm.model.training import small_table

BASELINES = {
    'GaussianCopulaSynthesizer': ('sdv.single_table', 'GaussianCopulaSynthesizer'),
    'FastGenSynthesizer': ('sdv_llm.fastgen.synthesizer', 'FastGenSynthesizer'),
}
"""Baseline synthesizers by name: (module, class)."""

DEFAULTS = {'baseline': 'GaussianCopulaSynthesizer', 'rows': None, 'epochs': None}
"""``rows``: ``None`` = 10 rows per training row, between 5,000 and 50,000. ``epochs``:
``None`` = the automatic rule (about 300,000 row presentations) on the baseline's rows."""


def settings(value):
    """The mixed-training settings with defaults filled in.

    Args:
        value (dict): ``{'baseline': name, 'rows': int or None, 'epochs': int or None}``, any
            subset.

    Returns:
        dict: all three keys.

    Raises:
        sdv.errors.SynthesizerInputError: an unknown key, baseline or a non-positive count
            (``mixed_training`` named).
    """
    unknown = sorted(set(value) - set(DEFAULTS))
    if unknown:
        raise SynthesizerInputError(
            f'Unknown keys {unknown} in mixed_training; it takes {sorted(DEFAULTS)}.')
    merged = {**DEFAULTS, **value}
    if merged['baseline'] not in BASELINES:
        raise SynthesizerInputError(
            f"mixed_training['baseline'] must be one of {sorted(BASELINES)}, not "
            f"{merged['baseline']!r}.")
    for key in ('rows', 'epochs'):
        count = merged[key]
        if count is not None and (isinstance(count, bool) or not isinstance(count, int)
                                  or count < 1):
            raise SynthesizerInputError(
                f"mixed_training[{key!r}] must be None or a positive integer, not {count!r}.")
    return merged


AUTO = {'baseline': 'FastGenSynthesizer', 'epochs': 20}
"""What ``mixed_training='auto'`` trains with on a table of fewer than ``SMALL_TABLE_ROWS``
rows: FastGen's rows (their marginals are the closest of the two baselines to the data), 20
epochs; measured on the ``small`` profile (BENCHMARKS.md)."""


def resolve(value, num_rows):
    """The ``mixed_training`` parameter for a table of ``num_rows`` rows.

    Args:
        value (dict or str or None): the parameter: a dict, ``'auto'`` or ``None``.
        num_rows (int): training rows.

    Returns:
        dict or None: ``value`` itself when a dict; for ``'auto'``, ``AUTO`` under
        ``SMALL_TABLE_ROWS`` rows and ``None`` above; ``None`` when off.
    """
    if isinstance(value, str) and value == 'auto':
        return dict(AUTO) if small_table(num_rows) else None
    return value


def is_valid(value):
    """bool: whether ``value`` is ``'auto'`` or a dict that ``settings`` accepts."""
    if isinstance(value, str) and value == 'auto':
        return True
    if not isinstance(value, dict):
        return False
    try:
        settings(value)
    except SynthesizerInputError:
        return False
    return True


def baseline_rows(data, columns_metadata, value, seed=None):
    """Fit the baseline on the training rows and sample the rows to pre-train on.

    Args:
        data (pandas.DataFrame): the training rows of the modelled columns (raw values).
        columns_metadata (dict[str, dict]): SDV column metadata of those columns.
        value (dict): the ``mixed_training`` parameter (see ``settings``).
        seed (int or None): seeds the baseline's sampling.

    Returns:
        pandas.DataFrame: ``rows`` rows with ``data``'s columns.
    """
    import importlib

    from sdv.metadata import Metadata

    chosen = settings(value)
    rows = chosen['rows'] or int(min(50_000, max(5_000, 10 * len(data))))
    metadata = Metadata.load_from_dict(
        {'tables': {'table': {'columns': {c: dict(columns_metadata[c]) for c in data}}}})
    module, name = BASELINES[chosen['baseline']]
    baseline = getattr(importlib.import_module(module), name)(metadata)
    baseline.fit({'table': data})
    if seed is not None:
        baseline._set_random_state(seed)
    return baseline.sample(rows)['table'][list(data.columns)]
