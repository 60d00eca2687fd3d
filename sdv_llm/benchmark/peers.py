"""Run a peer generator (TabularARGN, REaLTabFormer, GReaT) in its own Python environment.

Peers pin their own torch and transformers versions, so they run in a separate virtual
environment (see ``tox -e peers`` or README): the harness writes the train rows to a CSV
file, runs ``peer_worker.py`` with that environment's interpreter, and reads back the sampled
rows and the worker's timings. The interpreter is ``--peers-python`` or the environment
variable ``SDV_LLM_PEERS_PYTHON``.
"""

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

WORKER = Path(__file__).with_name('peer_worker.py')
PEERS_PYTHON_VARIABLE = 'SDV_LLM_PEERS_PYTHON'


class PeerError(RuntimeError):
    """A peer could not be run: no environment, not installed, or it failed."""


@dataclass
class PeerResult:
    """What a peer run returned.

    Attributes:
        synthetic (pandas.DataFrame): the sampled rows.
        fit_seconds (float): wall-clock seconds of the peer's fit, measured in the worker.
        sample_seconds (float): wall-clock seconds of its sampling.
        peak_rss_mb (float): the worker process's peak resident memory, MiB.
        cuda_max_allocated_mb (float or None): peak CUDA allocation, MiB.
        model_bytes (int or None): size of the peer's saved model, bytes.
        version (str or None): the peer package's version.
    """

    synthetic: pd.DataFrame
    fit_seconds: float
    sample_seconds: float
    peak_rss_mb: float
    cuda_max_allocated_mb: float | None
    model_bytes: int | None
    version: str | None


def peers_python(explicit=None):
    """The interpreter of the peers' environment: ``explicit``, else ``$SDV_LLM_PEERS_PYTHON``.

    Returns:
        str or None
    """
    return explicit or os.environ.get(PEERS_PYTHON_VARIABLE) or None


def column_kinds(metadata, table_name, columns):
    """``'numerical'``, ``'datetime'`` or ``'categorical'`` for each column, from the metadata."""
    specs = metadata.tables[table_name].columns
    kinds = {}
    for column in columns:
        sdtype = specs.get(column, {}).get('sdtype')
        kinds[column] = sdtype if sdtype in ('numerical', 'datetime') else 'categorical'
    return kinds


def run_peer(peer, train, num_rows, metadata, table_name, python=None, params=None, seed=0,
             device='cpu', timeout=None):
    """Fit a peer on ``train`` and sample ``num_rows`` rows, in a subprocess.

    Args:
        peer (str): ``'tabularargn'``, ``'realtabformer'`` or ``'great'``.
        train (pandas.DataFrame): rows to fit on.
        num_rows (int): rows to sample.
        metadata (sdv.metadata.Metadata): metadata of the table (column kinds for the peer).
        table_name (str): the table's name in ``metadata``.
        python (str or None): the peers' interpreter; see :func:`peers_python`.
        params (dict or None): the peer's parameters (``epochs``, ...).
        seed (int): the peer's seed.
        device (str): ``'cpu'`` or ``'cuda'``.
        timeout (float or None): seconds before the worker is killed.

    Returns:
        PeerResult

    Raises:
        PeerError: with the reason (no interpreter configured, import error, the worker's
            error output, timeout).
    """
    python = peers_python(python)
    if not python:
        raise PeerError(f'no Python environment for peers: pass --peers-python or set '
                        f'{PEERS_PYTHON_VARIABLE} (see README, Benchmarks)')
    with tempfile.TemporaryDirectory(prefix=f'sdv-llm-{peer}-') as folder:
        folder = Path(folder)
        train.to_csv(folder / 'train.csv', index=False)
        job = {'peer': peer, 'train': str(folder / 'train.csv'),
               'output': str(folder / 'synthetic.csv'), 'result': str(folder / 'result.json'),
               'workdir': str(folder / 'work'), 'num_rows': int(num_rows), 'seed': int(seed),
               'device': device, 'params': params or {},
               'columns': column_kinds(metadata, table_name, train.columns)}
        (folder / 'job.json').write_text(json.dumps(job))
        try:
            completed = subprocess.run([python, str(WORKER), str(folder / 'job.json')],
                                       capture_output=True, text=True, timeout=timeout,
                                       check=False)
        except subprocess.TimeoutExpired:
            raise PeerError(f'{peer} did not finish in {timeout} s') from None
        except OSError as error:
            raise PeerError(f'cannot run {python}: {error}') from None
        if completed.returncode != 0:
            lines = (completed.stderr or completed.stdout).strip().splitlines()
            raise PeerError(f'{peer} failed (exit {completed.returncode}): '
                            + ' | '.join(lines[-3:]))
        result = json.loads((folder / 'result.json').read_text())
        synthetic = pd.read_csv(folder / 'synthetic.csv')
    return PeerResult(synthetic, result['fit_seconds'], result['sample_seconds'],
                      result['peak_rss_mb'], result.get('cuda_max_allocated_mb'),
                      result.get('model_bytes'), result.get('version'))


def align_dtypes(synthetic, reference):
    """Cast a table read back from CSV to the dtypes of ``reference`` where the values allow.

    Numbers stay numbers (integer columns stay integers unless a value is fractional, with
    pandas' nullable ``Int64`` when values are missing; float columns are floats even when
    every sampled value is whole; a non-number is missing), booleans are parsed from
    ``'True'``/``'False'`` (``bool`` without missing values, else ``object``), and strings are
    kept as strings.

    Args:
        synthetic (pandas.DataFrame): the table to cast.
        reference (pandas.DataFrame): a table with the wanted dtypes.

    Returns:
        pandas.DataFrame: a new table with ``reference``'s columns that ``synthetic`` has.
    """
    result = {}
    for column in reference.columns:
        if column not in synthetic:
            continue
        values, dtype = synthetic[column], reference[column].dtype
        if pd.api.types.is_bool_dtype(dtype):
            mapped = values.astype(str).str.lower().map({'true': True, 'false': False})
            values = (mapped.astype(bool) if mapped.notna().all()
                      else mapped.astype(object).where(mapped.notna()))
        elif pd.api.types.is_numeric_dtype(dtype):
            values = pd.to_numeric(values, errors='coerce')
            present = values.dropna()
            if pd.api.types.is_integer_dtype(dtype) and (present % 1 == 0).all():
                values = values.astype(dtype if len(present) == len(values) else 'Int64')
            elif pd.api.types.is_float_dtype(dtype):
                values = values.astype(dtype)   # a peer writes whole floats as integers
        elif pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
            if pd.api.types.is_numeric_dtype(values.dtype):
                values = values.map(lambda v: v if pd.isna(v) else
                                    str(int(v)) if float(v).is_integer() else str(v))
            values = values.astype(object).where(values.notna())
        result[column] = values
    return pd.DataFrame(result)
