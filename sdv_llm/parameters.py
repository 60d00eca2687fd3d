"""The synthesizer parameters: one table, and the validation, docs and CLI options drawn from it.

``PARAMETERS`` is the only definition of ``LLMSynthesizer``'s parameters (name, default,
constraint, one-line doc). ``TabularLLM`` (scikit-learn) takes the same parameters; the
``sdv-llm`` model options, the parameter list of ``TabularLLM``'s docstring and README's
"Parameters" table are generated from it, and tests check that the explicit signatures of both
front ends, ``LLMSynthesizer``'s docstring and ``TabularLMConfig``'s defaults agree with it.

Constraints are written as scikit-learn's ``_parameter_constraints``: a list of alternatives,
each ``None``, ``'boolean'``, an ``Interval``, ``Options`` or a ``Check``; a value is valid when
it satisfies one of them.
"""

import numbers
import os
from collections.abc import Mapping
from dataclasses import dataclass

from sdv.errors import SynthesizerInputError

from sdv_llm.schema.order import ORDERS


@dataclass(frozen=True)
class Interval:
    """Numbers of one type in an interval, as scikit-learn's ``Interval`` (booleans excluded).

    Attributes:
        type (type): ``numbers.Integral`` or ``numbers.Real``.
        left, right (float or None): the bounds; ``None`` leaves a side open.
        closed (str): ``'left'``, ``'right'``, ``'both'`` or ``'neither'``.
    """

    type: type
    left: float = None
    right: float = None
    closed: str = 'neither'

    def is_satisfied_by(self, value):
        """bool: whether ``value`` is a number of the type inside the interval."""
        if not isinstance(value, self.type) or isinstance(value, bool):
            return False
        closed_left, closed_right = self.closed in ('left', 'both'), self.closed in ('right', 'both')
        above = self.left is None or (value >= self.left if closed_left else value > self.left)
        below = self.right is None or (value <= self.right if closed_right else value < self.right)
        return bool(above and below)

    def __str__(self):
        noun = 'integer' if self.type is numbers.Integral else 'number'
        if self.right is None and self.left == 0:
            return f"a {'non-negative' if self.closed in ('left', 'both') else 'positive'} {noun}"
        if self.right is None and self.left == 1 and self.type is numbers.Integral \
                and self.closed in ('left', 'both'):
            return f'a positive {noun}'
        low = '[' if self.closed in ('left', 'both') else '('
        high = ']' if self.closed in ('right', 'both') else ')'
        return f'a {noun} in {low}{self.left}, {self.right}{high}'


@dataclass(frozen=True)
class Options:
    """One of a few values, as scikit-learn's ``StrOptions``.

    Attributes:
        values (tuple): the allowed values.
    """

    values: tuple

    def is_satisfied_by(self, value):
        """bool: whether ``value`` is one of the options."""
        return isinstance(value, str) and value in self.values

    def __str__(self):
        return f'one of {self.values}'


@dataclass(frozen=True)
class Check:
    """Any other constraint: a predicate and the phrase that names what it accepts.

    Attributes:
        check (callable): ``value -> bool``.
        description (str): ``'a list of column names'``, ...
    """

    check: object
    description: str

    def is_satisfied_by(self, value):
        """bool: ``check(value)``."""
        return bool(self.check(value))

    def __str__(self):
        return self.description


def is_satisfied(constraint, value):
    """Whether ``value`` satisfies one constraint (``None``, ``'boolean'`` or an object).

    Args:
        constraint: ``None`` (the value ``None``), ``'boolean'`` (``True`` or ``False``), or an
            ``Interval``, ``Options`` or ``Check``.
        value: the value.

    Returns:
        bool
    """
    if constraint is None:
        return value is None
    if constraint == 'boolean':
        return isinstance(value, bool)
    return constraint.is_satisfied_by(value)


def describe(constraints):
    """What a list of alternative constraints accepts, in words.

    Args:
        constraints (list): alternatives, see ``is_satisfied``.

    Returns:
        str: for example ``'None or a positive integer'``.
    """
    words = ['None' if c is None else 'True or False' if c == 'boolean' else str(c)
             for c in constraints]
    return words[0] if len(words) == 1 else ', '.join(words[:-1]) + ' or ' + words[-1]


def _column_list(value):
    return isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)


def _backbone_directory(value):
    return isinstance(value, (str, os.PathLike)) and os.path.isdir(value)


def _peft_config(value):
    from peft import PeftConfig

    return isinstance(value, PeftConfig)


def _differential_privacy(value):
    """Whether ``value`` is a dict of DP settings; a dict with a bad key or value raises.

    A generic "it must be a dict" would not say which setting is wrong, so a dict is checked
    here by ``sdv_llm.model.differential_privacy.settings`` and its message kept.

    Raises:
        sdv.errors.SynthesizerInputError: a dict with an unknown key, no ``epsilon``, or a
            value out of range (the key named).
    """
    if not isinstance(value, dict):
        return False
    from sdv_llm.model.differential_privacy import settings

    try:
        settings(value)
    except (TypeError, ValueError) as error:
        raise SynthesizerInputError(
            f"Invalid value {value!r} for parameter 'differential_privacy': {error}") from None
    return True


def _privacy(value):
    from sdv_llm.model.privacy import privacy_settings

    try:
        privacy_settings(value)
    except (TypeError, ValueError):
        return False
    return True


def parse_privacy(text):
    """The ``privacy`` value of the ``--privacy`` option: ``off`` (every protection off),
    ``on`` (the defaults) or a JSON object of settings (``'{"early_stopping": "dcr"}'``).

    Raises:
        argparse.ArgumentTypeError: neither.
    """
    import argparse
    import json

    if text.strip().lower() in ('off', 'false', 'none', 'no'):
        return False
    if text.strip().lower() in ('on', 'true', 'default', 'yes'):
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"--privacy takes 'on', 'off' or a JSON object: "
                                         f'{error}') from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("--privacy takes 'on', 'off' or a JSON object.")
    return value


def parse_differential_privacy(text):
    """The ``differential_privacy`` value of ``--differential-privacy``: ``off`` (none) or a
    JSON object of DP settings (``'{"epsilon": 3, "delta": 1e-5}'``).

    Raises:
        argparse.ArgumentTypeError: neither.
    """
    import argparse
    import json

    if text.strip().lower() in ('off', 'false', 'none', 'no'):
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"--differential-privacy takes 'off' or a JSON "
                                         f'object: {error}') from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("--differential-privacy takes 'off' or a JSON object "
                                         "such as '{\"epsilon\": 3}'.")
    return value


def _locales(value):
    return isinstance(value, str) or (isinstance(value, (list, tuple))
                                      and all(isinstance(v, str) for v in value))


def _mixed_training(value):
    from sdv_llm.mixed import is_valid

    return is_valid(value)


def _critic_filter(value):
    from sdv_llm.model.critic import critic_settings

    try:
        critic_settings(value)
    except (TypeError, ValueError):
        return False
    return True


def _reward_finetuning(value):
    from sdv_llm.model.reward import reward_settings

    try:
        reward_settings(value)
    except (TypeError, ValueError):
        return False
    return True


POSITIVE_INT = Interval(numbers.Integral, 1, None, closed='left')
NON_NEGATIVE_INT = Interval(numbers.Integral, 0, None, closed='left')
POSITIVE_REAL = Interval(numbers.Real, 0, None, closed='neither')
FRACTION = Interval(numbers.Real, 0, 1, closed='left')
"""A number in ``[0, 1)``."""


@dataclass(frozen=True)
class Parameter:
    """One synthesizer parameter.

    Attributes:
        name (str): the keyword argument.
        default: its default value.
        constraints (list): alternatives (scikit-learn's ``_parameter_constraints`` style, see
            ``is_satisfied``).
        doc (str): one line: README's "meaning", the CLI's help, ``TabularLLM``'s docstring.
        cli (str or None): the ``sdv-llm fit``/``demo`` option, ``None`` when not exposed.
        sdv (bool): handled by SDV's base synthesizer, not passed to the model.
        cli_type (callable or None): parses the option's text (default: by the constraints).
    """

    name: str
    default: object
    constraints: list
    doc: str
    cli: str = None
    sdv: bool = False
    cli_type: object = None

    @property
    def expected(self):
        """str: what the constraints accept, in words (the error message's end)."""
        return describe(self.constraints)

    def validate(self, value):
        """Raise ``SynthesizerInputError`` naming the parameter unless ``value`` is valid.

        Args:
            value: the value given.

        Raises:
            sdv.errors.SynthesizerInputError: ``value`` satisfies none of the constraints.
        """
        if not any(is_satisfied(c, value) for c in self.constraints):
            raise SynthesizerInputError(
                f"Invalid value {value!r} for parameter '{self.name}'. It must be "
                f'{self.expected}.'
            )


PARAMETERS = (
    Parameter('enforce_min_max_values', True, ['boolean'],
              'sample numbers and datetimes only in `[range_min, range_max]`', sdv=True),
    Parameter('enforce_rounding', True, ['boolean'],
              "numbers keep the column's decimal places", sdv=True),
    Parameter('locales', ['en_US'], [None, Check(_locales, 'a locale or a list of locales')],
              'locales of the PII fakers', sdv=True),
    Parameter('epochs', None, [None, POSITIVE_INT],
              'most epochs; `None` = about 300,000 row presentations, 8 to 200 epochs, '
              'at least 16 for a one-layer decoder (3 for an adapter)', cli='--epochs'),
    Parameter('batch_size', None, [None, POSITIVE_INT],
              'training rows per step; `None` = rows/16 in [16, 512]', cli='--batch-size'),
    Parameter('learning_rate', 3e-3, [POSITIVE_REAL],
              'peak AdamW rate (5 % warm-up, cosine decay to 10 %)', cli='--learning-rate'),
    Parameter('embedding_dim', None, [None, POSITIVE_INT],
              'decoder width; `None` sizes it from the table', cli='--embedding-dim'),
    Parameter('num_layers', None, [None, POSITIVE_INT],
              'decoder layers; `None` sizes them from the table', cli='--num-layers'),
    Parameter('num_heads', None, [None, POSITIVE_INT],
              'attention heads; `None` sizes them from the table', cli='--num-heads'),
    Parameter('dropout', None, [None, FRACTION],
              'dropout; `None` = 0.2 under 2,000 rows, else 0.1', cli='--dropout'),
    Parameter('validation_fraction', 0.1, [FRACTION],
              'share of rows held out for early stopping', cli='--validation-fraction'),
    Parameter('patience', 3, [POSITIVE_INT],
              'epochs without validation improvement before stopping', cli='--patience'),
    Parameter('column_order', 'fd',
              [Options(ORDERS), Check(_column_list, 'a list of column names')],
              "`'fixed'` (table order), `'fd'` (functional-dependency order), `'random'` "
              '(a permutation per row, as GReaT), or a list of the modelled columns',
              cli='--column-order'),
    Parameter('conditional_fraction', 0.2, [FRACTION],
              'share of training rows shown with a random subset of columns first, so '
              'conditions and imputation stay in distribution', cli='--conditional-fraction'),
    Parameter('max_categories', 1000, [POSITIVE_INT],
              'categoricals with more values are spelled by characters',
              cli='--max-categories'),
    Parameter('max_discrete_values', 200, [NON_NEGATIVE_INT],
              'numerical columns with at most this many distinct values get a token per value',
              cli='--max-discrete-values'),
    Parameter('max_significant_digits', None, [None, POSITIVE_INT],
              "most digits kept past a number's integer part; `None` keeps the column's "
              'decimal places (a warning names any column whose precision is cut)',
              cli='--max-significant-digits'),
    Parameter('temperature', 1.0, [POSITIVE_REAL],
              'sampling temperature; 1.0 samples the learned distribution',
              cli='--temperature'),
    Parameter('top_p', 1.0, [Interval(numbers.Real, 0, 1, closed='right')],
              'nucleus sampling mass; 1.0 samples the full distribution', cli='--top-p'),
    Parameter('sample_batch_size', 4096, [POSITIVE_INT], 'rows decoded together',
              cli='--sample-batch-size'),
    Parameter('sample_processes', None, [None, POSITIVE_INT],
              'most processes sampling batches side by side on a Linux CPU, one core each; '
              "`None` = PyTorch's thread count (`torch.get_num_threads()`), `1` = in this process",
              cli='--sample-processes'),
    Parameter('precision', 'auto', [Options(('auto', 'float32', 'bfloat16'))],
              "dtype of the decoder's products in training (autocast) and sampling: `'auto'` = "
              'bf16 (or fp16) on CUDA and bf16 on CPUs with native bf16 products, else float32',
              cli='--precision'),
    Parameter('merge_sub_tokens', False, ['boolean'],
              "a binned number's sub-bin token shares its bin token's decoder position: one "
              'decoding step per continuous number instead of two (faster sampling, a measured '
              'quality cost on some tables, BENCHMARKS.md)', cli='--merge-sub-tokens'),
    Parameter('enable_gpu', True, ['boolean'], 'CUDA when available, else CPU', cli='--cpu'),
    Parameter('verbose', False, ['boolean'], 'tqdm progress bars', cli='--verbose'),
    Parameter('random_state', None, [None, NON_NEGATIVE_INT],
              'seed of training (init, split, shuffling, dropout)', cli='--random-state'),
    Parameter('backbone', 'default',
              [Check(lambda v: isinstance(v, str) and v == 'default', "'default'"),
               Check(_backbone_directory, 'an existing directory of a local Hugging Face '
                                          'causal LM')],
              'the embedded decoder, or the local directory of a Hugging Face causal LM',
              cli='--backbone'),
    Parameter('serialization', None,
              [None, Check(lambda v: isinstance(v, str),
                           "a serialization name ('compact', 'text', 'json', 'csv' or a "
                           "plugin's)")],
              "`'compact'` (embedded), or `'text'`, `'json'`, `'csv'` (pretrained); `None` "
              'picks by backbone', cli='--serialization'),
    Parameter('lora', None,
              [None, Check(lambda v: isinstance(v, dict), 'a dict of LoraConfig arguments'),
               Check(_peft_config, 'a peft.PeftConfig')],
              'LoRA settings (`r`, `lora_alpha`, `lora_dropout`, ...) or any `peft.PeftConfig` '
              '(IA3, AdaLoRA)'),
    Parameter('merge_adapter', False, ['boolean'],
              'merge the adapter into the backbone after training (faster sampling)',
              cli='--merge-adapter'),
    Parameter('gradient_checkpointing', False, ['boolean'],
              'recompute activations in the backward pass (less GPU memory)',
              cli='--gradient-checkpointing'),
    Parameter('text_preamble', False, ['boolean'],
              'start text rows with an instruction built from the metadata (not trained on)',
              cli='--text-preamble'),
    Parameter('mixed_training', 'auto',
              [None, Check(_mixed_training, "'auto' or a dict with keys among 'baseline' "
                                            "('GaussianCopulaSynthesizer' or "
                                            "'FastGenSynthesizer'), 'rows', 'epochs'")],
              "train first on rows sampled from a baseline synthesizer fitted on the same "
              "rows, then on the real rows (`sdv_llm.mixed`); `'auto'` = FastGen's rows, 20 "
              "epochs, on tables of fewer than 2,000 rows (not under DP); `None` = off"),
    Parameter('critic_filter', 'auto',
              [None, 'boolean', Options(('auto',)),
               Check(_critic_filter, "a dict with keys among 'ratio' (above 1), 'mode' "
                                     "('top' or 'weighted'), 'rows'")],
              'draw `ratio` times the rows and keep those a real-vs-synthetic classifier '
              'fitted after training finds most real (`sdv_llm.model.critic`); `True` = '
              "`{'ratio': 3.0, 'mode': 'weighted'}`; `'auto'` = `True` on tables of fewer than "
              '2,000 rows (not under DP); `None` = off'),
    Parameter('reward_finetuning', None,
              [None, 'boolean',
               Check(_reward_finetuning, "a dict with keys among 'steps', 'batch_rows', "
                                         "'critic_every' (positive integers), 'kl' (at least "
                                         "0), 'learning_rate' (above 0), 'reward' ('critic' "
                                         "or 'marginal')")],
              'after training, a short KL-penalised policy-gradient stage that rewards sampled '
              'rows for resembling the training rows (`sdv_llm.model.reward`); `True` = '
              "`{'steps': 20, 'batch_rows': 128, 'kl': 0.1, 'learning_rate': 1e-4, "
              "'critic_every': 10, 'reward': 'critic'}`; `None` = off"),
    Parameter('differential_privacy', None,
              [None, Check(_differential_privacy,
                           "a dict of DP settings ({'epsilon': 3.0, 'delta': 1e-05, "
                           "'max_grad_norm': 1.0, 'accountant': 'rdp'})")],
              "DP-SGD through opacus with this budget, e.g. `{'epsilon': 3.0, 'delta': 1e-5}` "
              '(`max_grad_norm`, `accountant` too); value sets and ranges then come from the '
              'metadata only; `None` = off',
              cli='--differential-privacy', cli_type=parse_differential_privacy),
    Parameter('privacy', None,
              [None, 'boolean',
               Check(_privacy, 'a dict of privacy settings (keys of '
                               'sdv_llm.model.privacy.PRIVACY_DEFAULTS)')],
              'protections: `None` = rare categories and extreme values not reproduced '
              '(value protection) and sampled copies of training rows redrawn beyond the '
              "holdout copy rate (copy filter); a dict changes settings "
              "(`{'early_stopping': 'dcr'}` adds DCR early stopping); `False` = none",
              cli='--privacy', cli_type=parse_privacy),
)
"""Every parameter of ``LLMSynthesizer`` and ``TabularLLM`` (after ``metadata``), in order."""

MULTI_TABLE_PARAMETERS = (
    Parameter('locales', ['en_US'], [None, Check(_locales, 'a locale or a list of locales')],
              'locales of the PII fakers'),
    Parameter('verbose', False, ['boolean'], 'tqdm progress bars'),
    Parameter('enable_gpu', True, ['boolean'], "default of every table's `enable_gpu`"),
    Parameter('random_state', None, [None, NON_NEGATIVE_INT],
              "default of every table's `random_state`"),
    Parameter('conditioning_parents', None,
              [None, Check(lambda v: isinstance(v, Mapping),
                           'a dict of parent table by child table')],
              'the parent table each named child table is generated from'),
    Parameter('max_children', 32, [POSITIVE_INT], 'most child rows in one sequence'),
    Parameter('max_sequence_length', 512, [POSITIVE_INT],
              "most tokens in one children sequence (lowers `max_children` for long rows)"),
    Parameter('grandparent_context', False, ['boolean'],
              "a grandchild's context also holds its grandparent row's short columns"),
    Parameter('differential_privacy', None,
              [None, Check(_differential_privacy, 'a dict of DP settings')],
              'the DP budget of the whole dataset, split evenly over the modelled tables '
              '(basic composition)'),
)
"""The parameters of ``LLMMultiTableSynthesizer`` (after ``metadata``), in order."""

BY_NAME = {parameter.name: parameter for parameter in PARAMETERS}
SDV_PARAMETERS = tuple(p.name for p in PARAMETERS if p.sdv)
"""Parameters SDV's base synthesizer handles (the others configure the model)."""


def defaults(parameters=PARAMETERS):
    """dict: name -> default of every parameter of a table (copies of mutable defaults)."""
    return {p.name: list(p.default) if isinstance(p.default, list) else p.default
            for p in parameters}


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


def validate_parameters(parameters, table=PARAMETERS):
    """Check every known parameter against its constraints in ``table``.

    Args:
        parameters (dict): parameter name to value; names not in ``table`` are ignored.
        table (tuple[Parameter]): ``PARAMETERS`` or ``MULTI_TABLE_PARAMETERS``.

    Raises:
        sdv.errors.SynthesizerInputError: naming the first invalid parameter (in the table's
            order), its value and what it must be.
    """
    for parameter in table:
        if parameter.name in parameters:
            parameter.validate(parameters[parameter.name])


def model_parameters(parameters):
    """The parameters that configure the model (those SDV's base class handles left out).

    Args:
        parameters (dict): name -> value.

    Returns:
        dict
    """
    return {k: v for k, v in parameters.items() if k not in SDV_PARAMETERS}


def docstring_section(parameters=PARAMETERS):
    """The ``Args`` lines of a docstring, one per parameter: name, accepted values, doc, default.

    Returns:
        str: lines indented by 8 spaces (a class docstring's ``Args:`` entries).
    """
    import textwrap

    lines = []
    for p in parameters:
        doc = p.doc.replace('`', '``')
        lines.append(textwrap.fill(f'{p.name} ({p.expected}): {doc}. Default ``{p.default!r}``.',
                                   width=99, initial_indent=' ' * 8,
                                   subsequent_indent=' ' * 12, break_on_hyphens=False))
    return '\n'.join(lines)


def markdown_table(parameters=PARAMETERS):
    """README's parameter table: one row per parameter with its default and doc.

    Returns:
        str: a Markdown table, header included, ending with a newline.
    """
    rows = ['| parameter | default | meaning |', '|---|---|---|']
    rows += [f'| `{p.name}` | `{p.default!r}` | {p.doc} |' for p in parameters]
    return '\n'.join(rows) + '\n'


def add_cli_options(parser, parameters=PARAMETERS):
    """Add an option for every parameter with a ``cli`` flag, with its doc as help.

    Integers and numbers take ``int``/``float``, strings ``str`` (with choices for
    ``Options``); a boolean whose default is ``False`` is a switch that sets it, one whose
    default is ``True`` a switch that clears it (``--cpu`` clears ``enable_gpu``). Options not
    given are absent from the namespace (``argparse.SUPPRESS``), so the synthesizer's defaults
    apply; ``cli_parameters`` reads them back.

    Args:
        parser (argparse.ArgumentParser): the (sub)command's parser.
        parameters (tuple[Parameter]): the table.
    """
    import argparse

    for p in parameters:
        if p.cli is None:
            continue
        kwargs = {'dest': p.name, 'default': argparse.SUPPRESS, 'help': p.doc.replace('%', '%%')}
        if p.cli_type is not None:
            kwargs.update(type=p.cli_type, metavar=p.name.upper())
        elif 'boolean' in p.constraints:
            kwargs['action'] = 'store_false' if p.default else 'store_true'
        else:
            types = [c for c in p.constraints if c is not None]
            if isinstance(types[0], Interval):
                kwargs['type'] = int if types[0].type is numbers.Integral else float
            else:
                kwargs['type'] = str
                if len(types) == 1 and isinstance(types[0], Options):
                    kwargs['choices'] = types[0].values
            kwargs['metavar'] = p.name.upper()
        parser.add_argument(p.cli, **kwargs)


def cli_parameters(args, parameters=PARAMETERS):
    """dict: the parameters given on the command line (see ``add_cli_options``)."""
    return {p.name: getattr(args, p.name) for p in parameters
            if p.cli is not None and hasattr(args, p.name)}


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
