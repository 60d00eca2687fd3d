"""Model files of ``LLMSynthesizer``: the safe directory format and the package version check.

The safe format (``save_pretrained`` / ``from_pretrained``) is a directory::

    sdv_llm.json        what SDV needs: format, sdv_llm and SDV versions, class, metadata,
                        parameters, table name, column order of the training data, dates, and
                        the fitted state of SDV's data processor (dtypes, formatters, the
                        learned attributes of the key and PII generators)
    model.json          the core model (``TabularLM.save_files``): settings, the fitted schema
                        and codecs, dependency maps, loss history, the copy filter (salted
                        hashes of the training rows) and the privacy report
    model.safetensors   the embedded decoder's weights (or ``adapter/`` for a pretrained
                        backbone, as peft writes it)

Everything but tensors is JSON read by ``sdv_llm.state`` (a closed list of classes, no
imports); tensors are read by safetensors. SDV's data processor is re-created from the metadata
and fitted on a stand-in frame of the stored dtypes (no training rows are stored); its learned
attributes are then set from the file.

``sdv_llm.json`` also names the model class (``model_class``: ``TabularLM``; a multi-table
synthesizer's child tables hold a ``ChildrenLM``, and a table of only keys and PII none). The
per-table pieces (``file_header``, ``write_table``, ``new_synthesizer``, ``restore_table``,
``read_synthesizer_file``, ``check_version``) are shared with the multi-table format
(``sdv_llm.relational.persistence``), which writes one such folder per table.

Pickle files (``save``) carry the package version too: ``check_version`` compares it on load.
"""

import json
import os
import pickletools
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from sdv_llm.state import UnsafeStateError, from_json_value, to_json_value
from sdv_llm.tabular_lm import TabularLM, _write_json

FORMAT = 'sdv_llm.LLMSynthesizer'
FORMAT_VERSION = 1
SYNTHESIZER_FILE = 'sdv_llm.json'
VERSION_KEY = '_sdv_llm_version'


class ModelFileError(ValueError):
    """A model file that cannot be loaded: missing, not a model, or from another version."""


def package_version():
    """str: the installed sdv_llm version."""
    from sdv_llm import version

    return version.__version__


# Migrations of saved state between package versions: ``{(saved, installed): function}``,
# each taking and returning the saved dict. None yet: other versions raise ModelFileError.
MIGRATIONS = {}


def check_version(saved, what):
    """Raise unless a file written by sdv_llm ``saved`` can be read by this version.

    Args:
        saved (str or None): the version stored in the file (None: written before versions were
            stored).
        what (str): the file, for the message.

    Returns:
        callable or None: the migration to apply, if any.

    Raises:
        ModelFileError: naming both versions.
    """
    installed = package_version()
    if saved == installed:
        return None
    if (saved, installed) in MIGRATIONS:
        return MIGRATIONS[(saved, installed)]
    raise ModelFileError(
        f'{what} was saved by sdv_llm {saved or "(unknown, before 0.1.0)"}; this is sdv_llm '
        f'{installed}, which cannot read it. Load it with sdv_llm {saved} and save it with '
        'save_pretrained, or fit the synthesizer again.')


# --------------------------------------------------------------------- safe directory format
def file_header(format_name=FORMAT):
    """The first fields of an ``sdv_llm.json``: format, its version, package versions."""
    return {
        'format': format_name,
        'format_version': FORMAT_VERSION,
        'sdv_llm_version': package_version(),
        'sdv_version': _sdv_version(),
    }


def save_pretrained(synthesizer, directory):
    """Write a fitted ``LLMSynthesizer`` to ``directory`` in the safe format (see module).

    Raises:
        sdv.errors.NotFittedError: the synthesizer is not fitted.
        ModelFileError: ``directory`` is a file, or a non-empty folder that is not a model.
        NotImplementedError: the synthesizer has constraints other than the decoding ones
            (saved only by ``save``).
    """
    from sdv.errors import NotFittedError

    if not synthesizer._fitted or synthesizer._model is None:
        raise NotFittedError('Fit the synthesizer before save_pretrained.')
    check_constraints(synthesizer)
    directory = Path(directory)
    check_output_directory(directory)
    directory.mkdir(parents=True, exist_ok=True)
    write_table(synthesizer, directory)


def check_constraints(synthesizer):
    """Raise NotImplementedError for constraints the safe format cannot hold.

    The constraints enforced while decoding (``Inequality``, ``Range``, ``FixedCombinations``,
    ``OneHotEncoding``, ``FixedIncrements``) are stored; a programmable constraint is code,
    which a file that runs no code cannot bring back.
    """
    from sdv_llm.decoding.constraints import decoded

    if synthesizer._chained_constraints or not all(
            map(decoded, synthesizer._reject_sampling_constraints)):
        raise NotImplementedError(
            'save_pretrained stores the constraints enforced while decoding (Inequality, Range, '
            'FixedCombinations, OneHotEncoding, FixedIncrements) only; a programmable constraint '
            'is code: use synthesizer.save(path) (pickle) for a synthesizer with one.')


def _constraints_state(synthesizer):
    """The fitted decoding constraints as JSON: SDV's constraint dict and learned attributes.

    ``FixedCombinations``' seen combinations (a data frame) are written as columns and rows.
    """
    states = []
    for constraint in synthesizer._reject_sampling_constraints:
        state = {'constraint': constraint.get_constraint_dict(),
                 'attributes': _plain_attributes(constraint)['attributes']}
        combinations = getattr(constraint, '_combinations', None)
        if combinations is not None:
            state['combinations'] = {
                'columns': [str(c) for c in combinations.columns],
                'rows': to_json_value(combinations.astype(object).where(
                    combinations.notna(), None).values.tolist(), {})}
        states.append(state)
    return states


def _restore_constraints(synthesizer, states):
    """Re-create the stored decoding constraints, fitted, without running any stored code.

    Raises:
        ModelFileError: a constraint class other than the decoding ones.
    """
    from sdv.cag import (
        FixedCombinations,
        FixedIncrements,
        Inequality,
        OneHotEncoding,
        Range,
    )

    allowed = {cls.__name__: cls for cls in (Inequality, Range, FixedCombinations,
                                             OneHotEncoding, FixedIncrements)}
    for state in states:
        spec = state['constraint']
        cls = allowed.get(spec.get('class_name')) if isinstance(spec, dict) else None
        if cls is None:
            raise ModelFileError(f'A stored constraint of class {spec!r} cannot be loaded; '
                                 f'save_pretrained stores {sorted(allowed)}.')
        constraint = cls(**from_json_value(spec.get('parameters', {}), {}))
        for name, value in state['attributes'].items():
            setattr(constraint, name, from_json_value(value, {}))
        if 'combinations' in state:
            rows = from_json_value(state['combinations']['rows'], {})
            constraint._combinations = pd.DataFrame(rows,
                                                    columns=state['combinations']['columns'])
        constraint.metadata = synthesizer.metadata
        synthesizer._reject_sampling_constraints.append(constraint)
    synthesizer._constraints_fitted = bool(states)


def write_table(synthesizer, directory):
    """Write a fitted ``LLMSynthesizer`` into the existing folder ``directory``.

    ``model.json`` and the weights (``TabularLM.save_files``, absent for a table without
    modelled columns), then ``sdv_llm.json``, last: its presence marks a whole model.
    """
    registry = {}
    parameters = dict(synthesizer.get_parameters())
    if parameters.get('lora') is not None and not isinstance(parameters['lora'], dict):
        parameters['lora'] = None  # a peft config object: adapter/adapter_config.json holds it
    model = synthesizer._model
    state = {
        **file_header(),
        'class': type(synthesizer).__name__,
        'model_class': None if model is None else type(model).__name__,
        'metadata': synthesizer.metadata.to_dict(),
        'parameters': to_json_value(parameters, registry),
        'table_name': synthesizer._table_name,
        'original_columns': [str(c) for c in getattr(synthesizer, '_original_columns', [])],
        'creation_date': synthesizer._creation_date,
        'fitted_date': synthesizer._fitted_date,
        'fitted_sdv_version': synthesizer._fitted_sdv_version,
        'data_processor': _data_processor_state(synthesizer._data_processor),
        'constraints': _constraints_state(synthesizer),
    }
    if model is not None:
        model.save_files(directory)
    _write_json(directory / SYNTHESIZER_FILE, state)


def from_pretrained(cls, directory):
    """Read a synthesizer written by ``save_pretrained``; runs no code from the files.

    Returns:
        LLMSynthesizer: fitted; it samples as the saved one did after ``reset_sampling()``.

    Raises:
        ModelFileError: missing, not a model directory, another format or package version.
        sdv_llm.state.UnsafeStateError: a class or tag that loading does not allow.
    """
    directory = Path(directory)
    state = read_synthesizer_file(directory)
    check_version(state.get('sdv_llm_version'), str(directory))
    check_class(state, cls, directory)
    synthesizer = new_synthesizer(cls, state)
    restore_table(synthesizer, directory, state)
    return synthesizer


def check_class(state, cls, directory):
    """Raise ModelFileError unless the file holds a ``cls``."""
    if state.get('class') != cls.__name__:
        raise ModelFileError(f'{directory} holds a {state.get("class")!r}, not a '
                             f'{cls.__name__}.')


def new_synthesizer(cls, state):
    """An unfitted ``cls`` built from the file's metadata and parameters."""
    from sdv.metadata import Metadata

    metadata = Metadata.load_from_dict(state['metadata'])
    return cls(metadata, **from_json_value(state['parameters'], {}))


def restore_table(synthesizer, directory, state, model_classes=None, prepare=None):
    """Install the fitted state of ``sdv_llm.json`` and the model files into ``synthesizer``.

    Args:
        synthesizer (LLMSynthesizer): built by ``new_synthesizer`` (or by a multi-table
            synthesizer from the same metadata and parameters).
        directory (pathlib.Path): the folder of the files.
        state (dict): its parsed ``sdv_llm.json``.
        model_classes (dict[str, type] or None): the model classes the folder may hold, by
            name (default: ``TabularLM`` only).
        prepare (callable or None): called with the stand-in frame before SDV's data processor
            is fitted on it (a multi-table synthesizer assigns its transformers there).

    Raises:
        ModelFileError: a model class that is not allowed here.
    """
    model_classes = model_classes or {'TabularLM': TabularLM}
    name = state.get('model_class', 'TabularLM')
    model = None
    if name is not None:
        model_class = model_classes.get(name) if isinstance(name, str) else None
        if model_class is None:
            raise ModelFileError(f'{directory} holds a model of class {name!r}; '
                                 f'{type(synthesizer).__name__} loads {sorted(model_classes)} '
                                 'here.')
        model = model_class.load_files(directory)
        if synthesizer.get_parameters().get('lora') is None and model.config.lora is not None:
            synthesizer.lora = model.config.lora  # the adapter's config, read from its files
    synthesizer._original_columns = pd.Index(state['original_columns'])
    _restore_data_processor(synthesizer._data_processor, state['data_processor'], prepare)
    synthesizer._model = model
    synthesizer._fitted = True
    synthesizer._creation_date = state.get('creation_date')
    synthesizer._fitted_date = state.get('fitted_date')
    synthesizer._fitted_sdv_version = state.get('fitted_sdv_version')
    synthesizer._random_state_set = False
    _restore_constraints(synthesizer, state.get('constraints', []))


def read_synthesizer_file(directory, format_name=FORMAT):
    """The parsed ``sdv_llm.json`` of a model directory.

    Args:
        directory (str or pathlib.Path): the model folder.
        format_name (str): the format it must hold (``FORMAT``, or the multi-table one).

    Raises:
        ModelFileError: the path is missing, not a directory written by ``save_pretrained``,
            or of another format.
    """
    directory = Path(directory)
    if not directory.exists():
        raise ModelFileError(f'{directory} does not exist.')
    path = directory / SYNTHESIZER_FILE
    if not directory.is_dir() or not path.is_file():
        raise ModelFileError(f'{directory} is not a model directory written by '
                             f'save_pretrained (no {SYNTHESIZER_FILE}).')
    try:
        with open(path, encoding='utf-8') as handle:
            state = json.load(handle)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelFileError(f'{path} is not valid JSON: {error}') from None
    if not isinstance(state, dict) or state.get('format') != format_name:
        found = state.get('format') if isinstance(state, dict) else None
        detail = f' (it holds {found!r}, not {format_name!r})' if isinstance(found, str) \
            and found.startswith('sdv_llm.') else ''
        raise ModelFileError(f'{path} is not an sdv_llm model file{detail}.')
    if state.get('format_version') != FORMAT_VERSION:
        raise ModelFileError(f'{path} has format version {state.get("format_version")}; this '
                             f'sdv_llm reads version {FORMAT_VERSION}.')
    return state


def check_output_directory(directory):
    """Raise unless ``directory`` can receive a model (call before a long fit).

    A model directory may be overwritten; an empty or missing folder is created later. Its
    parent must exist and be writable.

    Raises:
        ModelFileError: the path is a file, a folder with other files, or its parent is
            missing or not writable.
    """
    directory = Path(directory)
    if directory.exists():
        if not directory.is_dir():
            raise ModelFileError(f'{directory} is a file; give a directory for the model.')
        if any(directory.iterdir()) and not (directory / SYNTHESIZER_FILE).exists():
            raise ModelFileError(f'{directory} holds other files; give a new or empty '
                                 'directory, or a model directory to overwrite.')
        writable = directory
    else:
        writable = directory.parent if str(directory.parent) else Path('.')
        if not writable.is_dir():
            raise ModelFileError(f'Cannot save to {directory}: the folder {writable} does not '
                                 'exist.')
    if not os.access(writable, os.W_OK):
        raise ModelFileError(f'Cannot save to {directory}: {writable} is not writable.')


def remove_model_directory(directory):
    """Delete a model directory written by ``save_pretrained`` (and nothing else)."""
    directory = Path(directory)
    if (directory / SYNTHESIZER_FILE).exists():
        shutil.rmtree(directory)


# --------------------------------------------------------------------- SDV's data processor
def _data_processor_state(processor):
    """JSON of what SDV's DataProcessor learned from the training rows.

    ``dtypes`` (by column), and for every formatter and every fitted rdt transformer (keys,
    PII; the modelled columns have none) its class name and every attribute that is plain data
    (numbers, strings, dtypes, lists and dicts of them). Fakers, regex generators and random
    states are left out: SDV re-creates them, and ``reset_sampling`` re-seeds them.
    """
    transformers = processor._hyper_transformer.field_transformers
    return {
        'dtypes': {str(c): str(d) for c, d in processor._dtypes.items()},
        'formatters': {str(c): _plain_attributes(f) for c, f in processor.formatters.items()},
        'transformers': {str(c): _plain_attributes(t) for c, t in transformers.items()
                         if isinstance(c, str) and t is not None},
    }


def _plain_attributes(instance):
    attributes = {}
    for name, value in vars(instance).items():
        try:
            attributes[name] = to_json_value(value, {})
        except TypeError:
            continue
    return {'class': type(instance).__name__, 'attributes': attributes}


def _restore_data_processor(processor, state, prepare=None):
    """Fit SDV's DataProcessor on a stand-in frame, then set what it learned from the file."""
    dtypes = {column: from_json_value({'__type__': 'dtype', 'name': name}, {})
              for column, name in state['dtypes'].items()}
    stand_in = _stand_in(dtypes, processor.metadata.columns)
    if prepare is not None:
        prepare(stand_in)
    processor.fit(stand_in)
    processor._dtypes = pd.Series(dtypes, dtype=object)
    transformers = processor._hyper_transformer.field_transformers
    for kind, fitted in (('formatters', processor.formatters), ('transformers', transformers)):
        for column, saved in state[kind].items():
            target = fitted.get(column)
            if target is None or type(target).__name__ != saved['class']:
                raise ModelFileError(
                    f"The {kind[:-1]} of column '{column}' was a {saved['class']}; SDV "
                    f'builds {type(target).__name__} here (another SDV version?).')
            for name, value in saved['attributes'].items():
                setattr(target, name, from_json_value(value, {}))
    processor.reset_sampling()


def _stand_in(dtypes, columns_metadata, rows=10):
    """A frame of ``rows`` distinct placeholder values per column, in the given dtypes."""
    frame = {}
    for column, dtype in dtypes.items():
        sdtype = columns_metadata.get(column, {}).get('sdtype')
        kind = getattr(dtype, 'kind', 'O')
        if kind == 'b':
            values = [True, False] * (rows // 2)
        elif kind in 'iu':
            values = np.arange(1, rows + 1)
        elif kind == 'f':
            values = np.arange(rows) + 0.5
        elif kind == 'M':
            values = pd.date_range('2000-01-01', periods=rows)
        elif sdtype == 'datetime':
            fmt = columns_metadata[column].get('datetime_format') or '%Y-%m-%d'
            values = pd.date_range('2000-01-01', periods=rows).strftime(fmt)
        elif sdtype == 'numerical':
            values = [str(v) for v in range(rows)]
        else:
            values = [f'v{i}' for i in range(rows)]
        try:
            frame[column] = pd.Series(values).astype(dtype)
        except (TypeError, ValueError):
            frame[column] = pd.Series(values, dtype=object)
    return pd.DataFrame(frame)


def _sdv_version():
    from sdv import version

    return getattr(version, 'community', None)


# --------------------------------------------------------------------- pickle files
def pickled_version(path):
    """The sdv_llm version a pickle written by ``save`` records, read without unpickling.

    The opcodes are scanned (``pickletools``), nothing is executed.

    Returns:
        str or None: None when no version is recorded (older files, other synthesizers).
    """
    previous = None
    try:
        with open(path, 'rb') as handle:
            for opcode, argument, _ in pickletools.genops(handle):
                if previous == VERSION_KEY and isinstance(argument, str):
                    return argument
                if 'UNICODE' in opcode.name or 'STRING' in opcode.name:
                    previous = argument
    except (ValueError, EOFError, OSError):
        return None
    return None


def load(cls, path):
    """Load a synthesizer from a model directory (safe) or a pickle written by ``save``.

    A pickle runs code when loaded (cloudpickle): load only files you trust.

    Raises:
        ModelFileError: the path is missing or not a model, or a pickle from another sdv_llm
            version whose classes this version lacks (both versions named).
        sdv_llm.state.UnsafeStateError: a crafted model directory.
    """
    import pickle

    import cloudpickle

    path = Path(path)
    if not path.exists():
        raise ModelFileError(f'{path} does not exist.')
    if path.is_dir():
        return cls.from_pretrained(path)
    with open(path, 'rb') as handle:
        head = handle.read(2)
    if len(head) < 2 or head[0] != 0x80:
        raise ModelFileError(f'{path} is neither a model directory nor a pickle written by '
                             'save().')
    try:
        with open(path, 'rb') as handle:
            synthesizer = cloudpickle.load(handle)
    except (AttributeError, ModuleNotFoundError, ImportError, TypeError) as error:
        saved = pickled_version(path)
        if saved is not None and saved != package_version():
            check_version(saved, str(path))
        raise ModelFileError(f'{path} could not be unpickled ({error}); it was written by '
                             f'sdv_llm {saved or "(unknown)"}, this is {package_version()}.'
                             ) from error
    except (pickle.UnpicklingError, EOFError) as error:
        raise ModelFileError(f'{path} is not a pickle written by save(): {error}') from None
    if not hasattr(synthesizer, 'sample'):
        raise ModelFileError(f'{path} holds a {type(synthesizer).__name__}, not a synthesizer.')
    return synthesizer


__all__ = ['FORMAT', 'ModelFileError', 'UnsafeStateError', 'check_class', 'check_constraints',
           'check_output_directory', 'check_version', 'file_header', 'from_pretrained', 'load',
           'new_synthesizer', 'pickled_version', 'read_synthesizer_file', 'restore_table',
           'save_pretrained', 'write_table']
