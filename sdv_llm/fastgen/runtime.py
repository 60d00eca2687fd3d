"""Sampling a table from a FASTGEN spec with numpy and pandas alone.

This module is the body of every exported script (``FastGenSynthesizer.export_script`` copies
its source under the spec), and ``FastGenSynthesizer.sample`` calls it in-process, so the two
give the same rows for the same seed. It must import nothing but the standard library, numpy
and pandas.

A spec (a JSON-compatible dict, see ``sdv_llm.fastgen.fields``) holds:

- ``columns``: the output columns, in the table's order;
- ``fields``: ``{column: field}``; a field's ``kind`` is ``'quantile'`` (numbers and datetimes:
  a quantile function as knots), ``'discrete'`` (categories, booleans, ordinals, numbers with few
  values), ``'text'`` (common values plus a character Markov model), ``'id'`` (unique keys) or
  ``'lookup'`` (a functional dependency ``determinant -> column`` as a table);
- ``latent``: ``{'names': [...], 'cholesky': [[...]]}``: the Gaussian copula. Latent variable
  ``j`` drives the field (or the missing-value indicator) named ``names[j]``; the lower
  Cholesky factor of their correlation couples them (the identity is FASTGEN as published:
  every field independent).
"""

import hashlib

import numpy as np
import pandas as pd

#: Rows generated at once: memory stays near ``CHUNK_ROWS * columns * 16`` bytes.
CHUNK_ROWS = 200_000

_ERFC_COEFFICIENTS = (-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806,
                      0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277)


def normal_cdf(z):
    """The standard normal CDF, elementwise (fractional error below 1.2e-7).

    The Chebyshev fit of ``erfc`` from Numerical Recipes (``erfcc``), so that scripts need
    no scipy.

    Args:
        z (numpy.ndarray): float array, any shape.

    Returns:
        numpy.ndarray: float64 of the same shape, in ``[0, 1]``.
    """
    x = np.abs(z) / np.sqrt(2.0)
    t = 1.0 / (1.0 + 0.5 * x)
    poly = np.zeros_like(t)
    for coefficient in reversed(_ERFC_COEFFICIENTS[1:]):
        poly = (poly + coefficient) * t
    erfc = t * np.exp(-x * x + _ERFC_COEFFICIENTS[0] + poly)
    return np.where(z >= 0, 1.0 - 0.5 * erfc, 0.5 * erfc)


def latent_normals(latent, num_rows, rng):
    """Correlated standard normals, one column per latent variable.

    Returns:
        numpy.ndarray: float64 ``(num_rows, len(latent['names']))``.
    """
    width = len(latent['names'])
    z = rng.standard_normal((num_rows, width))
    if latent.get('cholesky') is not None:
        z = z @ np.asarray(latent['cholesky'], dtype=float).T
    return z


def _quantile(field, z):
    """Numbers from a quantile function given as knots ``(p, x)`` at normal scores ``z``."""
    values = np.interp(normal_cdf(z), field['p'], field['x'])
    if field.get('decimals') is not None:
        values = np.round(values, field['decimals'])
    return np.clip(values, field['min'], field['max'])


def _discrete_codes(field, z):
    """Category indices from normal scores: the category whose interval holds ``z``."""
    return np.searchsorted(np.asarray(field['bounds'], dtype=float), z, side='right')


def _text(field, num_rows, rng):
    """Strings: a common value (with its frequency) or a new string of the Markov model.

    New strings equal to a rare training value (seen fewer than ``min_count`` times) are drawn
    again, from Markov models of decreasing order (``field['markov']``, highest first); the
    spec holds only salted hashes of those values, never the values.
    """
    out = np.empty(num_rows, dtype=object)
    common = field['common']
    use_common = rng.random(num_rows) < field['common_share'] if common['values'] else \
        np.zeros(num_rows, dtype=bool)
    if use_common.any():
        cumulative = np.cumsum(common['probs'])
        picks = np.searchsorted(cumulative / cumulative[-1], rng.random(use_common.sum()),
                                side='right')
        out[use_common] = np.asarray(common['values'], dtype=object)[np.minimum(
            picks, len(common['values']) - 1)]
    pending = np.flatnonzero(~use_common)
    guard = set(field['guard']['hashes'])
    salt = field['guard']['salt'].encode()
    for markov in field['markov']:  # highest order first; lower orders copy less
        for _ in range(10):
            if len(pending) == 0:
                break
            strings, ended = _markov_strings(markov, len(pending), rng)
            fresh = ended & np.array([text_digest(salt, s) not in guard for s in strings],
                                     dtype=bool)
            out[pending[fresh]] = strings[fresh]
            pending = pending[~fresh]
    for position in pending:  # every order wrote rare values: a new number of the same length
        out[position] = str(rng.integers(10 ** 9))
    return out


def text_digest(salt, text):
    """Salted 64-bit hash of a string (hex)."""
    return hashlib.blake2b(text.encode('utf-8'), digest_size=8, key=salt).hexdigest()


def _markov_strings(markov, num_rows, rng):
    """Strings from a character Markov model of order ``k``, all rows stepped together.

    ``markov`` holds the alphabet (index 0 ends a string), the sorted context codes (the last
    ``k`` character indices in base ``len(alphabet)``) and, per context, the cumulative
    probabilities of the next character (``offsets`` delimit each context's slice of
    ``cumulative`` and ``next``).

    Returns:
        tuple: ``(strings, ended)``: object ``(num_rows,)`` strings and bool ``(num_rows,)``,
        False where a string reached ``max_length`` without its end (cut).
    """
    alphabet = np.array(list('\0' + markov['alphabet']))
    base = len(alphabet)
    order = markov['order']
    contexts = np.asarray(markov['contexts'], dtype=np.int64)
    offsets = np.asarray(markov['offsets'], dtype=np.int64)
    # Context i's cumulative probabilities, shifted by i, are one increasing array.
    owner = np.repeat(np.arange(len(contexts)), np.diff(offsets))
    shifted = np.asarray(markov['cumulative'], dtype=float) + owner
    following = np.asarray(markov['next'], dtype=np.int64)
    code = np.zeros(num_rows, dtype=np.int64)
    chars = np.zeros((num_rows, markov['max_length']), dtype=np.int64)
    alive = np.ones(num_rows, dtype=bool)
    modulus = base ** order
    for step in range(markov['max_length']):
        rows = np.flatnonzero(alive)
        if len(rows) == 0:
            break
        context = np.searchsorted(contexts, code[rows])
        context = np.minimum(context, len(contexts) - 1)
        unknown = contexts[context] != code[rows]
        context[unknown] = 0  # unseen context: the empty-string context
        draw = np.searchsorted(shifted, rng.random(len(rows)) * 0.999999 + context, side='right')
        draw = np.clip(draw, offsets[context], offsets[context + 1] - 1)
        nxt = following[draw]
        chars[rows, step] = nxt
        alive[rows[nxt == 0]] = False
        code[rows] = (code[rows] * base + nxt) % modulus
    text = alphabet[chars]
    return np.array([''.join(row).split('\0', 1)[0] for row in text], dtype=object), ~alive


def _ids(field, start, num_rows):
    """Unique keys numbered from ``field['start'] + start``."""
    numbers = np.arange(num_rows, dtype=np.int64) + field['start'] + start
    if field['style'] == 'int':
        return numbers
    return pd.Series(numbers).map(lambda n: f"{field['prefix']}{n:0{field['width']}d}").to_numpy()


def _column(field, z_of, num_rows, rng):
    """One column's values (before missing values are set)."""
    kind = field['kind']
    if kind == 'quantile':
        values = _quantile(field, z_of(field['latent']))
        if field.get('datetime'):
            stamps = pd.to_datetime(values.astype(np.int64), unit='ns')
            fmt = field.get('datetime_format')
            return pd.Series(stamps.strftime(fmt) if fmt else stamps)
        if field.get('integer'):
            return pd.Series(values.astype(np.int64))
        return pd.Series(values)
    if kind == 'discrete':
        codes = np.minimum(_discrete_codes(field, z_of(field['latent'])),
                           len(field['values']) - 1)
        if field.get('numeric'):
            values = np.array([np.nan if v is None else v for v in field['values']])
            return pd.Series(values[codes])
        return pd.Series(np.asarray(field['values'], dtype=object)[codes], dtype=object)
    if kind == 'text':
        return pd.Series(_text(field, num_rows, rng))
    raise ValueError(f'Unknown field kind {kind!r}.')


def sample_chunk(spec, num_rows, rng, start=0):
    """``num_rows`` rows of the table described by ``spec``.

    Args:
        spec (dict): the spec (module docstring).
        num_rows (int): rows to generate.
        rng (numpy.random.Generator): the random generator.
        start (int): rows generated before (numbers the keys).

    Returns:
        pandas.DataFrame: ``num_rows`` rows, columns ``spec['columns']``.
    """
    z = latent_normals(spec['latent'], num_rows, rng)
    index = {name: j for j, name in enumerate(spec['latent']['names'])}

    def z_of(name):
        return z[:, index[name]]

    out = {}
    fields = spec['fields']
    for column in spec['columns']:
        field = fields[column]
        if field['kind'] == 'id':
            out[column] = pd.Series(_ids(field, start, num_rows))
        elif field['kind'] != 'lookup':
            out[column] = _column(field, z_of, num_rows, rng)
    for column in spec['columns']:
        field = fields[column]
        if field['kind'] == 'lookup':
            table = pd.Series(field['values'], index=pd.Index(field['keys'], dtype=object))
            keys = out[field['determinant']].astype(object)
            out[column] = keys.map(table).fillna(field['default']) if len(table) else \
                pd.Series([field['default']] * num_rows)
    for column in spec['columns']:
        field = fields[column]
        if field.get('null_latent') is not None:
            missing = z_of(field['null_latent']) < field['null_bound']
            if missing.any():
                series = out[column]
                if field.get('integer') and field['kind'] == 'quantile':
                    series = series.astype('Int64')
                else:
                    series = series.astype(object) if series.dtype.kind in 'biu' else series
                out[column] = series.mask(pd.Series(missing))
    frame = pd.DataFrame(out)
    return frame[spec['columns']]


def sample_table(spec, num_rows, seed=None, chunk_rows=CHUNK_ROWS, rng=None):
    """Yield the table in chunks of at most ``chunk_rows`` rows.

    Args:
        spec (dict): the spec.
        num_rows (int): total rows.
        seed (int or None): seed of ``numpy.random.default_rng`` (ignored with ``rng``).
        chunk_rows (int): rows per chunk.
        rng (numpy.random.Generator or None): a generator to draw from.

    Yields:
        pandas.DataFrame: consecutive chunks; their lengths sum to ``num_rows``.
    """
    rng = rng if rng is not None else np.random.default_rng(seed)
    done = 0
    while done < num_rows:
        size = min(chunk_rows, num_rows - done)
        yield sample_chunk(spec, size, rng, start=done)
        done += size


def write_table(spec, num_rows, path, seed=None, chunk_rows=CHUNK_ROWS):
    """Write ``num_rows`` rows to ``path`` (``.csv``, or ``.parquet`` when pyarrow is there).

    Chunks are appended as they are made, so memory does not grow with ``num_rows``.

    Raises:
        ImportError: ``.parquet`` without pyarrow.
    """
    path = str(path)
    if path.endswith('.parquet'):
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise ImportError('Writing .parquet needs pyarrow (pip install pyarrow); '
                              'or write .csv.') from None

        writer = None
        for chunk in sample_table(spec, num_rows, seed, chunk_rows):
            table = pa.Table.from_pandas(chunk, preserve_index=False)
            writer = writer or pq.ParquetWriter(path, table.schema)
            writer.write_table(table.cast(writer.schema))
        if writer is not None:
            writer.close()
        return
    for number, chunk in enumerate(sample_table(spec, num_rows, seed, chunk_rows)):
        chunk.to_csv(path, mode='w' if number == 0 else 'a', header=number == 0, index=False)
