"""The parameter table (sdv_llm.parameters.PARAMETERS) and everything that must agree with it."""

import ast
import dataclasses
import inspect
import re
from pathlib import Path

import pytest
from sdv.errors import SynthesizerInputError

from sdv_llm import LLMMultiTableSynthesizer, LLMSynthesizer, TabularLLM
from sdv_llm.cli import build_parser
from sdv_llm.parameters import (
    MULTI_TABLE_PARAMETERS,
    PARAMETERS,
    cli_parameters,
    defaults,
    markdown_table,
    validate_parameters,
)
from sdv_llm.schema.options import CodecOptions
from sdv_llm.tabular_lm import TabularLMConfig

README = Path(__file__).parent.parent / 'README.md'


def _signature(cls, skip=('self', 'metadata')):
    return {name: p.default for name, p in inspect.signature(cls.__init__).parameters.items()
            if name not in skip}


@pytest.mark.parametrize('cls', [LLMSynthesizer, TabularLLM])
def test_signatures_are_the_table(cls):
    """Both front ends take every parameter, in the table's order, with its default."""
    signature = _signature(cls)
    assert list(signature) == [p.name for p in PARAMETERS]
    assert signature == defaults()


def test_multi_table_signature_is_its_table():
    assert _signature(LLMMultiTableSynthesizer) == defaults(MULTI_TABLE_PARAMETERS)


def test_core_config_defaults_are_the_table():
    """TabularLMConfig (the core below the front ends) has the table's defaults."""
    fields = {f.name: f.default for f in dataclasses.fields(TabularLMConfig)}
    codec = {f.name: f.default for f in dataclasses.fields(CodecOptions)}
    for parameter in PARAMETERS:
        if parameter.sdv:
            continue
        default = fields[parameter.name] if parameter.name in fields else codec[parameter.name]
        assert default == parameter.default, parameter.name


def test_defaults_are_valid():
    validate_parameters(defaults())
    validate_parameters(defaults(MULTI_TABLE_PARAMETERS), MULTI_TABLE_PARAMETERS)


@pytest.mark.parametrize(('name', 'value', 'expected'), [
    ('epochs', 0, 'None or a positive integer'),
    ('epochs', True, 'None or a positive integer'),
    ('learning_rate', -1.0, 'a positive number'),
    ('dropout', 1.0, r'None or a number in \[0, 1\)'),
    ('top_p', 0.0, r'a number in \(0, 1\]'),
    ('max_discrete_values', -1, 'a non-negative integer'),
    ('column_order', 'sorted', r"one of \('fixed', 'fd', 'random'\) or a list of column names"),
    ('enable_gpu', 'yes', 'True or False'),
    ('backbone', '/no/such/directory', "'default' or an existing directory"),
    ('lora', 'r=8', 'None, a dict of LoraConfig arguments or a peft.PeftConfig'),
])
def test_invalid_values_name_the_parameter(name, value, expected):
    with pytest.raises(SynthesizerInputError, match=rf"parameter '{name}'. It must be {expected}"):
        validate_parameters({name: value})


def test_valid_values_pass():
    validate_parameters({'epochs': 5, 'dropout': 0.0, 'top_p': 1.0, 'column_order': ['a', 'b'],
                         'max_discrete_values': 0, 'lora': {'r': 8}, 'locales': 'en_US'})


def _documented(docstring):
    """``{name: text}`` of the ``Args:`` entries of a Google-style docstring."""
    section = docstring.split('Args:\n', 1)[1].split('\n\n', 1)[0]
    entries = {}
    for match in re.finditer(r'^ {8}([a-z_, ]+) \(.*?\):(.*?)(?=^ {8}\S|\Z)', section,
                             re.MULTILINE | re.DOTALL):
        for name in match.group(1).split(','):
            entries[name.strip()] = ' '.join(match.group(2).split())
    return entries


def _stated_default(text):
    match = re.search(r'Default (``[^`]+``|\S+?)\.?(?:\s|$)', text)
    return None if match is None else ast.literal_eval(match.group(1).strip('`'))


@pytest.mark.parametrize('cls', [LLMSynthesizer, TabularLLM])
def test_docstrings_list_every_parameter_with_its_default(cls):
    documented = _documented(cls.__doc__)
    documented.pop('metadata', None)
    assert list(documented) == [p.name for p in PARAMETERS]
    for parameter in PARAMETERS:
        text = documented[parameter.name]
        assert 'Default ' in text, parameter.name
        assert _stated_default(text) == parameter.default, parameter.name


def test_readme_parameter_table_is_the_table():
    """README's "Parameters" table is ``markdown_table()`` (paste its output after a change)."""
    readme = README.read_text()
    section = readme.split('## Parameters\n', 1)[1].split('\n## ', 1)[0]
    table = '\n'.join(line for line in section.splitlines() if line.startswith('|')) + '\n'
    assert table == markdown_table()
    for parameter in PARAMETERS:
        assert f'| `{parameter.name}` | `{parameter.default!r}` |' in table


def _fit_options():
    fit = build_parser()._subparsers._group_actions[0].choices['fit']
    return {action.dest: action for action in fit._actions}


def test_cli_options_come_from_the_table():
    options = _fit_options()
    for parameter in PARAMETERS:
        if parameter.cli is None:
            assert parameter.name not in options
            continue
        action = options[parameter.name]
        assert action.option_strings == [parameter.cli]
        assert action.help.replace('%%', '%') == parameter.doc


def test_cli_parses_parameters():
    parser = build_parser()
    args = parser.parse_args(['fit', 'data.csv', '-o', 'm.pkl'])
    assert cli_parameters(args) == {}
    args = parser.parse_args(['fit', 'data.csv', '-o', 'm.pkl', '--epochs', '3', '--cpu',
                              '--learning-rate', '0.01', '--column-order', 'fixed',
                              '--verbose', '--top-p', '0.9', '--serialization', 'text'])
    assert cli_parameters(args) == {'epochs': 3, 'enable_gpu': False, 'learning_rate': 0.01,
                                    'column_order': 'fixed', 'verbose': True, 'top_p': 0.9,
                                    'serialization': 'text'}
    validate_parameters(cli_parameters(args))
