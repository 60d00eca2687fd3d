"""Benchmark profiles: which datasets, how many rows, which synthesizers with which settings."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Profile:
    """A named set of benchmark settings.

    Attributes:
        name (str): the profile's name.
        datasets (tuple[str] or None): dataset names; ``None`` = every single-table and
            multi-table dataset under the data folder.
        max_rows (int or None): subsample single tables to this many rows (before the split).
        synthesizers (tuple[str]): single-table synthesizers run on every single table.
        multi_table_synthesizers (tuple[str]): synthesizers run on every multi-table dataset.
        params (dict[str, dict]): parameter overrides by synthesizer name.
        evaluation_rows (int): most rows used by the detection and DCR metrics (subsampled,
            seeded) for speed.
        update_benchmarks (bool): rewrite the generated section of ``BENCHMARKS.md`` by default.
        privacy_audits (bool): score single tables with the privacy audits too (exact copies,
            DCRBaselineProtection, membership inference, anonymeter's risks; see
            ``runner.score_privacy_audits``); off by default for their cost (about half a
            minute per 5,000-row table).
        privacy_attacks (int): anonymeter's attacks of each kind in the privacy audits.
    """

    name: str
    datasets: tuple | None = None
    max_rows: int | None = None
    synthesizers: tuple = ('LLMSynthesizer', 'GaussianCopulaSynthesizer', 'CTGANSynthesizer',
                           'TVAESynthesizer', 'TabularARGN')
    multi_table_synthesizers: tuple = ('LLMMultiTableSynthesizer', 'HMASynthesizer')
    params: dict = field(default_factory=dict)
    evaluation_rows: int = 2000
    update_benchmarks: bool = False
    privacy_audits: bool = False
    privacy_attacks: int = 500


PROFILES = {
    # Minutes on a 2-core CPU: two small tables, short training. Checks the harness and gives
    # a first comparison; the scores are not those of default training.
    'quick': Profile(
        'quick', datasets=('adult', 'titanic'), max_rows=3000,
        params={'LLMSynthesizer': {'epochs': 6},
                'LLMSynthesizer-small': {'epochs': 6},
                'CTGANSynthesizer': {'epochs': 30}, 'TVAESynthesizer': {'epochs': 30},
                'TabularARGN': {'max_epochs': 10, 'max_training_time': 1.0},
                'REaLTabFormer': {'epochs': 5}, 'GReaT': {'epochs': 2}},
        evaluation_rows=1000),
    # The protocol: every dataset, all rows, default parameters (CTGAN/TVAE 300 epochs).
    'full': Profile('full', update_benchmarks=True),
    # Small tables (issue 18): three real tables inside scikit-learn, iris, titanic, and
    # 2,000-row slices of magic and california_housing; default parameters.
    'small': Profile(
        'small', datasets=('breast_cancer', 'wine', 'diabetes', 'iris', 'titanic', 'magic',
                           'california_housing'), max_rows=2000),
    # Privacy (issue 17): three census and bank tables, all rows, default parameters, every
    # privacy audit, with and without DP-SGD at epsilon 1, 3 and 10 (delta 1e-5) for
    # LLMSynthesizer and TabularARGN (its own DP, same budgets).
    'privacy': Profile(
        'privacy', datasets=('adult', 'bank_marketing', 'default_credit'),
        synthesizers=('LLMSynthesizer', 'TabularARGN',
                      *(f'{name}-dp{e}' for e in (1, 3, 10)
                        for name in ('LLMSynthesizer', 'TabularARGN'))),
        multi_table_synthesizers=(), privacy_audits=True),
    # The test suite's: iris only, tiny models; checks the harness, never the scores.
    'smoke': Profile(
        'smoke', datasets=('iris',), max_rows=1000,
        synthesizers=('GaussianCopulaSynthesizer', 'LLMSynthesizer'),
        params={'LLMSynthesizer': {'epochs': 2, 'batch_size': 64, 'embedding_dim': 16,
                                   'num_layers': 1, 'num_heads': 2, 'sample_batch_size': 512},
                'LLMMultiTableSynthesizer': {'epochs': 1, 'batch_size': 64, 'embedding_dim': 16,
                                             'num_layers': 1, 'num_heads': 2},
                'CTGANSynthesizer': {'epochs': 2}, 'TVAESynthesizer': {'epochs': 2}},
        evaluation_rows=200, privacy_attacks=50),
}


def get_profile(name):
    """The profile called ``name``.

    Raises:
        KeyError: naming the known profiles.
    """
    try:
        return PROFILES[name]
    except KeyError:
        raise KeyError(f'Unknown profile {name!r}; known: {", ".join(PROFILES)}.') from None
