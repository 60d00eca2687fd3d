"""Declarative validation of the synthesizer parameters, shared by both front ends."""

import numbers
import os

from sdv.errors import SynthesizerInputError

from sdv_llm.schema.order import ORDERS


def _positive_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value > 0


def _optional(check):
    return lambda value: value is None or check(value)


def _fraction(low_open, high_open):
    def check(value):
        if not isinstance(value, numbers.Real) or isinstance(value, bool):
            return False
        above = value > 0 if low_open else value >= 0
        below = value < 1 if high_open else value <= 1
        return above and below
    return check


def _positive_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and value > 0


def _column_order(value):
    return value in ORDERS if isinstance(value, str) else (
        isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)
    )


def _bool(value):
    return isinstance(value, bool)


def _lora(value):
    if value is None or isinstance(value, dict):
        return True
    from peft import PeftConfig

    return isinstance(value, PeftConfig)


PARAMETER_CONSTRAINTS = {
    'epochs': (_optional(_positive_int), 'None or a positive integer'),
    'batch_size': (_optional(_positive_int), 'None or a positive integer'),
    'learning_rate': (_positive_real, 'a positive number'),
    'embedding_dim': (_optional(_positive_int), 'None or a positive integer'),
    'num_layers': (_optional(_positive_int), 'None or a positive integer'),
    'num_heads': (_optional(_positive_int), 'None or a positive integer'),
    'dropout': (_optional(_fraction(False, True)), 'None or a number in [0, 1)'),
    'validation_fraction': (_fraction(False, True), 'a number in [0, 1)'),
    'patience': (_positive_int, 'a positive integer'),
    'column_order': (_column_order, f'one of {ORDERS} or a list of column names'),
    'conditional_fraction': (_fraction(False, True), 'a number in [0, 1)'),
    'max_categories': (_positive_int, 'a positive integer'),
    'max_discrete_values': (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
                            'a non-negative integer'),
    'max_significant_digits': (_optional(_positive_int), 'None or a positive integer'),
    'temperature': (_positive_real, 'a positive number'),
    'top_p': (_fraction(True, False), 'a number in (0, 1]'),
    'sample_batch_size': (_positive_int, 'a positive integer'),
    'enable_gpu': (_bool, 'True or False'),
    'verbose': (_bool, 'True or False'),
    'random_state': (_optional(lambda v: isinstance(v, numbers.Integral) and v >= 0),
                     'None or a non-negative integer'),
    'backbone': (lambda v: v == 'default' or (isinstance(v, (str, os.PathLike))
                                              and os.path.isdir(v)),
                 "'default' or an existing directory of a local Hugging Face causal LM"),
    'serialization': (_optional(lambda v: isinstance(v, str)),
                      "None, 'compact', 'text', 'json' or 'csv'"),
    'lora': (_lora, 'None, a dict of LoraConfig arguments or a peft.PeftConfig'),
    'merge_adapter': (_bool, 'True or False'),
    'gradient_checkpointing': (_bool, 'True or False'),
    'text_preamble': (_bool, 'True or False'),
}


def store_parameters(obj, arguments):
    """Store constructor arguments as attributes of the same names, unchanged.

    Both front ends keep every constructor argument under its own name, which is what
    scikit-learn's ``get_params`` and SDV's ``get_parameters`` read.

    Args:
        obj: the instance being constructed.
        arguments (dict): ``locals()`` of ``__init__``; ``self``, ``metadata`` and
            ``__class__`` are skipped.
    """
    for name, value in arguments.items():
        if name not in ('self', 'metadata', '__class__'):
            setattr(obj, name, value)


def validate_parameters(parameters):
    """Check every known parameter against ``PARAMETER_CONSTRAINTS``.

    Args:
        parameters (dict): parameter name to value; unknown names are ignored.

    Raises:
        sdv.errors.SynthesizerInputError: naming the first invalid parameter, its value and what
            it must be.
    """
    for name, value in parameters.items():
        if name in PARAMETER_CONSTRAINTS:
            check, expected = PARAMETER_CONSTRAINTS[name]
            if not check(value):
                raise SynthesizerInputError(
                    f"Invalid value {value!r} for parameter '{name}'. It must be {expected}."
                )


def build_config(parameters):
    """Turn validated front-end parameters into a ``TabularLMConfig``."""
    from sdv_llm.schema.options import CodecOptions
    from sdv_llm.tabular_lm import TabularLMConfig

    fields = dict(parameters)
    fields['codec_options'] = CodecOptions(
        max_categories=fields.pop('max_categories'),
        max_discrete_values=fields.pop('max_discrete_values'),
        max_significant_digits=fields.pop('max_significant_digits'),
    )
    if fields.get('backbone') is not None:
        fields['backbone'] = str(fields['backbone'])
    column_order = fields['column_order']
    fields['column_order'] = column_order if isinstance(column_order, str) else list(column_order)
    return TabularLMConfig(**fields)
