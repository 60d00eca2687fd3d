"""Dict-valued synthesizer parameters: one check of their keys, defaults filled in."""


def merged_settings(value, defaults, name, accepted):
    """``defaults`` updated with ``value`` after checking its type and keys.

    Args:
        value (dict): the parameter's value (``True`` already replaced by ``{}``).
        defaults (dict): every key with its default.
        name (str): the parameter, named in the errors.
        accepted (str): what the parameter accepts, in words (``'None, a bool or a dict'``).

    Returns:
        dict: every key of ``defaults``.

    Raises:
        TypeError: ``value`` is not a dict.
        ValueError: a key that ``defaults`` lacks (the keys named).
    """
    if not isinstance(value, dict):
        raise TypeError(f'{name} must be {accepted}, not {value!r}.')
    unknown = sorted(set(value) - set(defaults))
    if unknown:
        raise ValueError(f'Unknown keys {unknown} in {name}; it takes {sorted(defaults)}.')
    return {**defaults, **value}
