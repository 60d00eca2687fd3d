"""Object state as plain JSON, with a closed list of classes: what model files hold besides tensors.

``to_json_value`` turns fitted state (codecs, the schema, dependency maps, settings) into JSON
values; ``from_json_value`` turns them back. Only these are written: ``None``, ``bool``,
``int``, ``float`` (NaN and infinities as JSON's ``NaN``/``Infinity``), ``str``, lists, dicts with
string keys, and tagged objects ``{"__type__": tag, ...}`` for tuples, sets, dicts with other
keys, numpy arrays, scalars and dtypes, pandas timestamps and timedeltas, and instances of the
classes in a *registry* (``{name: class}``) that the caller passes: an instance is written as its
registry name and its ``__dict__`` (or a class's own ``to_state()``), and read back by
``cls.__new__(cls)`` and an update of ``__dict__`` (or ``cls.from_state(state)``).

Reading never imports a module, never resolves a dotted path and never calls ``__init__``,
``__setstate__`` or ``__reduce__``: a class name that is not in the registry raises
``UnsafeStateError``, as does an unknown tag or a dtype that is not a plain numpy or pandas
dtype. So a crafted file can at worst hold wrong values, never run code.
"""

import math

import numpy as np
import pandas as pd

TYPE = '__type__'


class UnsafeStateError(ValueError):
    """A state file names a class or a tag that loading does not allow."""


def to_json_value(value, registry):
    """A JSON value of ``value``.

    Args:
        value: the object to write.
        registry (dict[str, type]): the classes whose instances may be written, by name.

    Returns:
        a JSON value (``json.dumps`` writes it).

    Raises:
        TypeError: an object of a type that is neither plain nor registered (named).
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int) and not isinstance(value, np.integer):
        return value
    if isinstance(value, float) and not isinstance(value, np.floating):
        return value
    if isinstance(value, list):
        return [to_json_value(item, registry) for item in value]
    if isinstance(value, tuple) and not hasattr(value, '_fields'):
        return {TYPE: 'tuple', 'items': [to_json_value(item, registry) for item in value]}
    if isinstance(value, (set, frozenset)):
        items = sorted((to_json_value(item, registry) for item in value), key=repr)
        return {TYPE: 'frozenset' if isinstance(value, frozenset) else 'set', 'items': items}
    if isinstance(value, dict):
        if all(isinstance(key, str) for key in value) and TYPE not in value:
            return {key: to_json_value(item, registry) for key, item in value.items()}
        return {TYPE: 'dict', 'items': [[to_json_value(k, registry), to_json_value(v, registry)]
                                         for k, v in value.items()]}
    if isinstance(value, np.ndarray):
        if value.dtype.kind in 'biuf':
            return {TYPE: 'ndarray', 'dtype': value.dtype.str, 'shape': list(value.shape),
                    'data': [_plain_number(v) for v in value.ravel().tolist()]}
        if value.dtype.kind == 'O':
            return {TYPE: 'ndarray', 'dtype': '|O', 'shape': list(value.shape),
                    'data': [to_json_value(v, registry) for v in value.ravel().tolist()]}
        if value.dtype.kind in 'mM':
            return {TYPE: 'ndarray', 'dtype': value.dtype.str, 'shape': list(value.shape),
                    'data': value.view(np.int64).ravel().tolist()}
        raise TypeError(f'Cannot write a numpy array of dtype {value.dtype}.')
    if isinstance(value, np.generic) and value.dtype.kind in 'biuf':
        return {TYPE: 'scalar', 'dtype': value.dtype.str, 'value': _plain_number(value.item())}
    if isinstance(value, pd.Timestamp):
        return {TYPE: 'timestamp', 'value': value.isoformat(),
                'tz': None if value.tz is None else str(value.tz)}
    if isinstance(value, pd.Timedelta):
        return {TYPE: 'timedelta', 'value': int(value.value)}
    if isinstance(value, (np.datetime64, np.timedelta64)):
        return {TYPE: 'scalar', 'dtype': value.dtype.str, 'value': int(value.view(np.int64))}
    if isinstance(value, (np.dtype, pd.api.extensions.ExtensionDtype)):
        return {TYPE: 'dtype', 'name': str(value)}
    name = _registered_name(type(value), registry)
    if name is None:
        raise TypeError(f'Cannot write an object of type {type(value).__qualname__}: it is not '
                        'a registered state class.')
    state = value.to_state() if hasattr(type(value), 'to_state') else dict(vars(value))
    return {TYPE: 'object', 'class': name, 'state': to_json_value(state, registry)}


def from_json_value(value, registry):
    """The object a JSON value written by ``to_json_value`` stands for.

    Args:
        value: a JSON value.
        registry (dict[str, type]): the classes that may be created, by name.

    Returns:
        the object.

    Raises:
        UnsafeStateError: a class name not in ``registry``, an unknown tag or dtype.
    """
    if isinstance(value, list):
        return [from_json_value(item, registry) for item in value]
    if not isinstance(value, dict):
        return value
    tag = value.get(TYPE)
    if tag is None:
        return {key: from_json_value(item, registry) for key, item in value.items()}
    if tag == 'tuple':
        return tuple(from_json_value(item, registry) for item in value['items'])
    if tag in ('set', 'frozenset'):
        items = (from_json_value(item, registry) for item in value['items'])
        return set(items) if tag == 'set' else frozenset(items)
    if tag == 'dict':
        return {_hashable(from_json_value(k, registry)): from_json_value(v, registry)
                for k, v in value['items']}
    if tag == 'ndarray':
        dtype = _numpy_dtype(value['dtype'])
        shape = tuple(int(n) for n in value['shape'])
        if dtype.kind == 'O':
            array = np.empty(len(value['data']), dtype=object)
            array[:] = [from_json_value(v, registry) for v in value['data']]
            return array.reshape(shape)
        if dtype.kind in 'mM':
            return np.asarray(value['data'], dtype=np.int64).view(dtype).reshape(shape)
        return np.asarray(value['data'], dtype=dtype).reshape(shape)
    if tag == 'scalar':
        dtype = _numpy_dtype(value['dtype'])
        if dtype.kind in 'mM':
            return np.int64(value['value']).view(dtype)
        return dtype.type(value['value'])
    if tag == 'timestamp':
        stamp = pd.Timestamp(value['value'])
        return stamp if value['tz'] is None or stamp.tz is not None else stamp.tz_localize(
            value['tz'])
    if tag == 'timedelta':
        return pd.Timedelta(int(value['value']))
    if tag == 'dtype':
        return _dtype(value['name'])
    if tag == 'object':
        name = value.get('class')
        cls = registry.get(name) if isinstance(name, str) else None
        if cls is None:
            raise UnsafeStateError(
                f'The file names the class {name!r}, which is not among the classes a model '
                f'file may hold ({sorted(registry)}); a codec from a plugin must be installed '
                'and registered through the sdv_llm_state_classes hook.')
        state = from_json_value(value['state'], registry)
        if hasattr(cls, 'from_state'):
            return cls.from_state(state)
        if not isinstance(state, dict) or not all(isinstance(key, str) for key in state):
            raise UnsafeStateError(f'The state of {name!r} is not a dict of attributes.')
        instance = cls.__new__(cls)
        instance.__dict__.update(state)
        return instance
    raise UnsafeStateError(f'Unknown tag {tag!r} in a model file.')


def registry_of(classes):
    """``{name: class}`` of state classes, by ``__qualname__``.

    Raises:
        ValueError: two classes share a name.
    """
    registry = {}
    for cls in classes:
        name = cls.__qualname__
        if registry.get(name, cls) is not cls:
            raise ValueError(f'Two state classes are named {name!r}: {registry[name]} and {cls}.')
        registry[name] = cls
    return registry


def _registered_name(cls, registry):
    name = cls.__qualname__
    return name if registry.get(name) is cls else None


def _plain_number(value):
    return value if not isinstance(value, float) or math.isfinite(value) else float(value)


def _hashable(value):
    return tuple(_hashable(v) for v in value) if isinstance(value, list) else value


def _numpy_dtype(name):
    if not isinstance(name, str):
        raise UnsafeStateError(f'Invalid dtype {name!r} in a model file.')
    try:
        dtype = np.dtype(name)
    except TypeError as error:
        raise UnsafeStateError(f'Invalid dtype {name!r} in a model file.') from error
    if dtype.kind not in 'biufOmM':
        raise UnsafeStateError(f'Invalid dtype {name!r} in a model file.')
    return dtype


def _dtype(name):
    """A numpy or pandas dtype by its string name (never a dotted path)."""
    if not isinstance(name, str) or '.' in name.split('[')[0]:
        raise UnsafeStateError(f'Invalid dtype {name!r} in a model file.')
    try:
        return pd.api.types.pandas_dtype(name)
    except (TypeError, ValueError) as error:
        raise UnsafeStateError(f'Invalid dtype {name!r} in a model file.') from error
