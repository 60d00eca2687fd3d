"""Model files and checkpoints of ``LLMMultiTableSynthesizer``.

The safe format (``save_pretrained`` / ``from_pretrained``) is a directory::

    sdv_llm.json        format ``sdv_llm.LLMMultiTableSynthesizer``, its version, the sdv_llm
                        and SDV versions, class, metadata (as modelled: without the
                        self-references and left-out tables, which are stored apart),
                        parameters, the folder of each table, the table order, table sizes,
                        relationships (with their learned children counts and null fractions),
                        the conditioning parent of each child, self-references, left-out
                        tables, table parameters, original column names, dates
    tables/<table>/     one folder per table in the single-table layout
                        (``sdv_llm.persistence``): ``sdv_llm.json``, ``model.json``,
                        ``model.safetensors``; ``model_class`` says ``TabularLM`` (a root
                        table) or ``ChildrenLM`` (a child table); a table with only keys and
                        PII has no model files

Everything is read through ``sdv_llm.state`` (a closed list of classes) and safetensors: no
pickle, no import, no code from the files runs.

Checkpoints (``fit(data, checkpoint_dir=...)``) use the same per-table folders::

    tables/<table>/training/    the table's training checkpoint (``sdv_llm.model.checkpoint``),
                                written after every epoch
    tables/<table>/complete/    the finished table: its model files (``TabularLM.save_files``),
                                ``random_states.json`` and ``random_states.safetensors`` (numpy's
                                global, Python's and torch's random states after the table) and
                                ``table.json`` (model class, fingerprint, version); written
                                under a temporary name and renamed, so it is the table's
                                completion marker. ``training/`` is then deleted.

A fit started again with the same folder skips the complete tables (their model is read back
and the random states after them restored, so every later draw is as in an uninterrupted fit)
and resumes the first unfinished table after its last checkpointed epoch.
"""

import hashlib
import json
import os
import random
import re
import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

from sdv_llm.model.checkpoint import restore_cuda_rng
from sdv_llm.persistence import (
    SYNTHESIZER_FILE,
    ModelFileError,
    check_class,
    check_constraints,
    check_output_directory,
    check_version,
    file_header,
    new_synthesizer,
    package_version,
    read_synthesizer_file,
    restore_table,
    write_table,
)
from sdv_llm.relational.children import ChildrenLM
from sdv_llm.relational.keys import Relationship
from sdv_llm.state import from_json_value, to_json_value
from sdv_llm.tabular_lm import TabularLM, _write_json

MULTI_FORMAT = 'sdv_llm.LLMMultiTableSynthesizer'
TABLES_DIR = 'tables'
TRAINING_DIR = 'training'
COMPLETE_DIR = 'complete'
TABLE_FILE = 'table.json'
RANDOM_STATES = 'random_states'
_FOLDER = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_.-]*$')


def model_classes():
    """dict[str, type]: the model classes a table folder may hold."""
    return {'TabularLM': TabularLM, 'ChildrenLM': ChildrenLM}


def table_folders(names):
    """``{table: folder name}``: the name with other characters than ``[A-Za-z0-9_.-]`` as
    ``_`` (and a number when two names would meet)."""
    folders, used = {}, set()
    for index, name in enumerate(names):
        folder = re.sub(r'[^A-Za-z0-9_.-]', '_', str(name)).lstrip('.') or 'table'
        if folder in used:
            folder = f'{folder}-{index}'
        used.add(folder)
        folders[name] = folder
    return folders


def _table_path(directory, folder):
    if not isinstance(folder, str) or not _FOLDER.match(folder):
        raise ModelFileError(f'{directory / SYNTHESIZER_FILE} names an invalid table folder '
                             f'{folder!r}.')
    return directory / TABLES_DIR / folder


# --------------------------------------------------------------------- safe directory format
def save_pretrained(synthesizer, directory):
    """Write a fitted ``LLMMultiTableSynthesizer`` to ``directory`` (see the module).

    Raises:
        sdv.errors.NotFittedError: the synthesizer is not fitted.
        ModelFileError: ``directory`` is a file, or a non-empty folder that is not a model.
        NotImplementedError: the synthesizer or a table has constraints (use ``save``).
    """
    from sdv.errors import NotFittedError

    if not synthesizer._fitted:
        raise NotFittedError('Fit the synthesizer before save_pretrained.')
    if synthesizer.constraints or synthesizer._single_table_constraints:
        raise NotImplementedError('save_pretrained does not store constraints yet; use '
                                  'synthesizer.save(path) (pickle).')
    for table in synthesizer._table_synthesizers.values():
        check_constraints(table)
    directory = Path(directory)
    check_output_directory(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / SYNTHESIZER_FILE).unlink(missing_ok=True)  # not a model until written again
    shutil.rmtree(directory / TABLES_DIR, ignore_errors=True)
    folders = table_folders(list(synthesizer._table_synthesizers))
    for name, table in synthesizer._table_synthesizers.items():
        folder = directory / TABLES_DIR / folders[name]
        folder.mkdir(parents=True)
        write_table(table, folder)
    relationships = synthesizer._relationships
    state = {
        **file_header(MULTI_FORMAT),
        'class': type(synthesizer).__name__,
        'metadata': synthesizer.metadata.to_dict(),
        'parameters': to_json_value(synthesizer.get_parameters(), {}),
        'tables': folders,
        'table_order': list(synthesizer._order),
        'table_sizes': {name: int(size) for name, size in synthesizer._table_sizes.items()},
        'relationships': [_relationship_state(r) for r in relationships],
        'conditioning': {child: relationships.index(r)
                         for child, r in synthesizer._conditioning.items()},
        'self_references': [_relationship_state(r) for r in synthesizer._self_references],
        'left_out': list(synthesizer._left_out),
        'table_parameters': {name: _plain_parameters(parameters) for name, parameters
                             in synthesizer._table_parameters.items()},
        'original_table_columns': to_json_value(
            dict(getattr(synthesizer, '_original_table_columns', {})), {}),
        'creation_date': synthesizer._creation_date,
        'fitted_date': synthesizer._fitted_date,
        'fitted_sdv_version': synthesizer._fitted_sdv_version,
    }
    _write_json(directory / SYNTHESIZER_FILE, state)  # last: its presence marks a whole model


def from_pretrained(cls, directory):
    """Read a multi-table synthesizer written by ``save_pretrained``; runs no code from files.

    Returns:
        LLMMultiTableSynthesizer: fitted; it samples as the saved one after
        ``reset_sampling()``.

    Raises:
        ModelFileError: missing, not a model, another format or package version (named).
        sdv_llm.state.UnsafeStateError: a class or tag that loading does not allow.
    """
    from sdv.metadata import Metadata

    directory = Path(directory)
    state = read_synthesizer_file(directory, MULTI_FORMAT)
    check_version(state.get('sdv_llm_version'), str(directory))
    check_class(state, cls, directory)
    metadata = Metadata.load_from_dict(state['metadata'])
    synthesizer = cls(metadata, **from_json_value(state['parameters'], {}))
    if set(state['tables']) != set(synthesizer.metadata.tables):
        raise ModelFileError(f'{directory / SYNTHESIZER_FILE} lists the tables '
                             f'{sorted(state["tables"])}, its metadata '
                             f'{sorted(synthesizer.metadata.tables)}.')
    synthesizer._self_references = [_relationship(r) for r in state['self_references']]
    synthesizer._left_out = [str(name) for name in state['left_out']]
    synthesizer._table_parameters = defaultdict(dict, from_json_value(
        state['table_parameters'], {}))
    for name, folder in state['tables'].items():
        path = _table_path(directory, folder)
        table_state = read_synthesizer_file(path)
        check_version(table_state.get('sdv_llm_version'), str(path))
        check_class(table_state, synthesizer._synthesizer, path)
        table = new_synthesizer(synthesizer._synthesizer, table_state)
        table._suppress_datetime_format_warning = True
        table._data_processor.table_name = name

        def prepare(frame, table=table, name=name):  # as SDV's preprocess assigns them
            synthesizer._assign_table_transformers(table, name, frame)

        restore_table(table, path, table_state, model_classes(), prepare)
        synthesizer._table_synthesizers[name] = table
    synthesizer._relationships = [_relationship(r) for r in state['relationships']]
    synthesizer._conditioning = {child: synthesizer._relationships[int(index)]
                                 for child, index in state['conditioning'].items()}
    synthesizer._order = [str(name) for name in state['table_order']]
    synthesizer._table_sizes = {name: int(size) for name, size in state['table_sizes'].items()}
    synthesizer._original_table_columns = from_json_value(state['original_table_columns'], {})
    synthesizer._fitted = True
    synthesizer._creation_date = state.get('creation_date')
    synthesizer._fitted_date = state.get('fitted_date')
    synthesizer._fitted_sdv_version = state.get('fitted_sdv_version')
    synthesizer.reset_sampling()
    return synthesizer


def _relationship_state(relationship):
    counts = relationship.counts
    return {'parent': relationship.parent, 'parent_key': relationship.parent_key,
            'child': relationship.child, 'foreign_key': relationship.foreign_key,
            'counts': None if counts is None else [int(c) for c in counts],
            'null_fraction': float(relationship.null_fraction)}


def _relationship(state):
    counts = state['counts']
    return Relationship(str(state['parent']), str(state['parent_key']), str(state['child']),
                        str(state['foreign_key']),
                        None if counts is None else np.asarray(counts, dtype=np.int64),
                        float(state['null_fraction']))


def _plain_parameters(parameters):
    parameters = dict(parameters)
    if parameters.get('lora') is not None and not isinstance(parameters['lora'], dict):
        parameters['lora'] = None  # a peft config object: the table's adapter folder holds it
    return to_json_value(parameters, {})


# --------------------------------------------------------------------- checkpoints
class TableCheckpoints:
    """The checkpoint folder of a multi-table fit: one subfolder per table (see the module).

    Args:
        directory (str or pathlib.Path): the ``checkpoint_dir`` given to ``fit``.
        names (list[str]): every table, for the folder names.
    """

    def __init__(self, directory, names):
        self.directory = Path(directory)
        self.folders = table_folders(names)

    def training(self, name):
        """pathlib.Path: the training checkpoint folder of a table."""
        return self.directory / TABLES_DIR / self.folders[name] / TRAINING_DIR

    def finished(self, name, fingerprint):
        """The finished model of a table, if the folder holds one.

        When it does, the random states saved after the table are restored.

        Returns:
            tuple or None: ``(model,)`` (``model`` None for a table without modelled columns),
            or None when the table has not been finished.

        Raises:
            ValueError: the table was finished by another fit (other data or settings).
            ModelFileError: written by another sdv_llm version.
        """
        from safetensors.torch import load_file

        folder = self.directory / TABLES_DIR / self.folders[name] / COMPLETE_DIR
        if not (folder / TABLE_FILE).is_file():
            return None
        with open(folder / TABLE_FILE, encoding='utf-8') as handle:
            state = json.load(handle)
        check_version(state.get('sdv_llm_version'), str(folder))
        if state.get('fingerprint') != _plain(fingerprint):
            raise ValueError(f'The checkpoint of table {name!r} in {self.directory} was written '
                             'by another fit (other data or settings); use another '
                             'checkpoint_dir or delete it to start over.')
        model = None
        if state.get('model_class') is not None:
            model_class = model_classes().get(state['model_class'])
            if model_class is None:
                raise ModelFileError(f'{folder} holds a model of class '
                                     f'{state["model_class"]!r}.')
            model = model_class.load_files(folder)
        with open(folder / f'{RANDOM_STATES}.json', encoding='utf-8') as handle:
            states = json.load(handle)
        _set_random_states(states, load_file(str(folder / f'{RANDOM_STATES}.safetensors')))
        return (model,)

    def finish(self, name, model, fingerprint):
        """Write a finished table (atomically), with the random states after it."""
        from safetensors.torch import save_file

        table = self.directory / TABLES_DIR / self.folders[name]
        table.mkdir(parents=True, exist_ok=True)
        temporary = table / f'.{COMPLETE_DIR}.tmp'
        shutil.rmtree(temporary, ignore_errors=True)
        temporary.mkdir()
        if model is not None:
            model.save_files(temporary)
        states, tensors = _random_states()
        save_file(tensors, str(temporary / f'{RANDOM_STATES}.safetensors'))
        _write_json(temporary / f'{RANDOM_STATES}.json', states)
        _write_json(temporary / TABLE_FILE, {
            'table': name,
            'model_class': None if model is None else type(model).__name__,
            'fingerprint': _plain(fingerprint),
            'sdv_llm_version': package_version(),
        })
        final = table / COMPLETE_DIR
        shutil.rmtree(final, ignore_errors=True)
        os.replace(temporary, final)
        shutil.rmtree(table / TRAINING_DIR, ignore_errors=True)


def fingerprint(frames, parameters):
    """A digest of the training frames of one table and its settings.

    Args:
        frames (list): ``pandas.DataFrame`` or ``numpy.ndarray`` (or None) the model trains on.
        parameters (dict): the settings (JSON-able values; others by ``repr``).

    Returns:
        dict: ``{'shapes', 'data', 'parameters'}``.
    """
    digest = hashlib.sha256()
    shapes = []
    for frame in frames:
        if frame is None:
            shapes.append(None)
            continue
        if isinstance(frame, pd.DataFrame):
            shapes.append([len(frame), [str(c) for c in frame.columns]])
            digest.update(json.dumps(shapes[-1][1]).encode())
            values = pd.util.hash_pandas_object(frame, index=False).to_numpy()
        else:
            shapes.append(list(np.shape(frame)))
            values = np.ascontiguousarray(frame)
        digest.update(values.tobytes())
    return {'shapes': shapes, 'data': digest.hexdigest(),
            'parameters': json.loads(json.dumps(parameters, default=repr, sort_keys=True))}


def _random_states():
    """numpy's global, Python's and torch's random states: JSON and tensors."""
    import torch

    name, keys, position, has_gauss, cached = np.random.get_state()
    version, internal, gauss = random.getstate()
    states = {'numpy': [name, [int(k) for k in keys], int(position), int(has_gauss),
                        float(cached)],
              'python': [version, list(internal), gauss]}
    tensors = {'torch': torch.get_rng_state()}
    if torch.cuda.is_available():
        for index, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f'cuda.{index}'] = state
    return states, tensors


def _set_random_states(states, tensors):
    import torch

    name, keys, position, has_gauss, cached = states['numpy']
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), position, has_gauss, cached))
    version, internal, gauss = states['python']
    random.setstate((version, tuple(internal), gauss))
    torch.set_rng_state(tensors['torch'])
    restore_cuda_rng(tensors, 'cuda.')


def _plain(value):
    return json.loads(json.dumps(value))
