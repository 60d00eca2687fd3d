"""The fitted FASTGEN model: a spec (fields, copula, lookups) and sampling through the runtime."""

import numpy as np
import pandas as pd

from sdv_llm.fastgen import runtime
from sdv_llm.fastgen.copula import find_lookups, fit_latent
from sdv_llm.fastgen.fields import FieldOptions, fit_fields

#: The ``dependencies`` settings: ``'none'`` is FASTGEN as published (independent fields).
DEPENDENCIES = ('copula', 'none')


class FastGenModel:
    """Fit a spec from a table and sample it.

    Args:
        dependencies (str): ``'copula'`` or ``'none'``.
        options (FieldOptions or None): field limits.
        lookups (bool): keep exact one-column functional dependencies as lookup tables.
        seed (int): seeds fitting (subsamples, positions inside ties).

    Attributes:
        spec (dict): the fitted spec (``sdv_llm.fastgen.runtime``), JSON-compatible.
    """

    def __init__(self, dependencies='copula', options=None, lookups=True, seed=0):
        if dependencies not in DEPENDENCIES:
            raise ValueError(f'dependencies must be one of {DEPENDENCIES}, not {dependencies!r}.')
        self.dependencies = dependencies
        self.options = options or FieldOptions()
        self.lookups = lookups
        self.seed = seed
        self.spec = None
        self._rng = np.random.default_rng(seed)

    def fit(self, data, columns_metadata, table_name='table', proposals=None, extra_fields=None):
        """Fit the spec.

        Args:
            data (pandas.DataFrame): the training table, ``n >= 1`` rows.
            columns_metadata (dict): ``{column: SDV column metadata}``.
            table_name (str): written into the spec.
            proposals (dict or None): ``{column: answer}`` of a language model
                (``sdv_llm.fastgen.llm.propose``).
            extra_fields (dict or None): fields fitted elsewhere (keys, PII), joined as they are.

        Returns:
            FastGenModel: ``self``.
        """
        rng = np.random.default_rng(self.seed)
        fields = fit_fields(data, columns_metadata, self.options, rng, proposals)
        if self.lookups:
            fields.update(find_lookups(data, fields))
        latent = fit_latent(data, columns_metadata, fields, self.dependencies, rng)
        fields.update(extra_fields or {})
        columns = [c for c in columns_metadata if c in fields] + \
            [c for c in fields if c not in columns_metadata]
        self.spec = {'table': table_name, 'columns': columns, 'fields': fields,
                     'latent': latent, 'dependencies': self.dependencies,
                     'training_rows': len(data)}
        return self

    def set_random_state(self, random_state):
        """Seed sampling: an int, ``None``, or SDV's ``(numpy RandomState, torch Generator)``."""
        if isinstance(random_state, tuple):
            random_state = int(random_state[0].randint(0, 2 ** 31 - 1))
        elif isinstance(random_state, np.random.RandomState):
            random_state = int(random_state.randint(0, 2 ** 31 - 1))
        self._rng = np.random.default_rng(random_state)

    def sample(self, num_rows, columns=None):
        """``num_rows`` rows (all spec columns, or ``columns``)."""
        chunks = list(runtime.sample_table(self.spec, num_rows, rng=self._rng))
        frame = pd.concat(chunks, ignore_index=True) if chunks else \
            pd.DataFrame(columns=self.spec['columns'])
        return frame if columns is None else frame[columns]

    def get_distributions(self):
        """What was chosen per field (``describe(self.spec)``)."""
        return describe(self.spec)


def describe(spec):
    """What was chosen per field of a spec, as a table.

    Returns:
        pandas.DataFrame: one row per column: ``column``, ``sdtype``, ``kind``
        (quantile, discrete, text, id, lookup), ``distribution`` (family, ``frequencies``,
        ``markov(k)``, ``sequence`` or ``lookup(<determinant>)``), ``parameters``, ``source``
        (``data``, ``llm``, ``llm-refined``) and ``missing_rate``.
    """
    rows = []
    for column in spec['columns']:
        field = spec['fields'][column]
        kind = field['kind']
        distribution, parameters, source = {
            'quantile': lambda f: (f['family'], f['params']),
            'discrete': lambda f: ('frequencies', len(f['values'])),
            'text': lambda f: (f"markov({f['markov'][0]['order']})", len(f['common']['values'])),
            'id': lambda f: ('sequence', f.get('start')),
            'lookup': lambda f: (f"lookup({f['determinant']})", len(f['keys'])),
        }[kind](field) + (field.get('source', 'data'),)
        rows.append({'column': column, 'sdtype': field.get('sdtype'), 'kind': kind,
                     'distribution': distribution, 'parameters': parameters,
                     'source': source, 'missing_rate': field.get('null_rate', 0.0)})
    return pd.DataFrame(rows)
