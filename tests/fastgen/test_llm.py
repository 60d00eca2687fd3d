"""The language-model path: a tiny local model's answers parse for every column of Adult."""

import json
import re

import numpy as np
import pytest

from sdv_llm.data import load_adult
from sdv_llm.fastgen.llm import (
    ConstrainedGenerator,
    answer_regex,
    check_choice,
    propose,
)
from sdv_llm.fastgen.synthesizer import FastGenSynthesizer
from tests.helpers.backbones import save_config_backbone


@pytest.fixture(scope='module')
def tiny_lm(tmp_path_factory):
    texts = ['{"kind": "numerical", "family": "lognormal", "params": [0.5, 0, 12.25]}',
             '{"kind": "categorical"}', 'Column: age\nsdtype: numerical\nrows: 100'] * 30
    return save_config_backbone(tmp_path_factory.mktemp('fastgen-lm'), texts, vocab_size=320)


@pytest.fixture(scope='module')
def adult():
    data, metadata = load_adult()
    return data.sample(1500, random_state=0).reset_index(drop=True), metadata


def test_answers_parse_for_every_adult_column(tiny_lm, adult):
    data, metadata = adult
    columns = metadata.tables['adult'].columns
    generator = ConstrainedGenerator(tiny_lm)
    answers = propose(tiny_lm, data, columns, generator)
    assert set(answers) == set(data.columns)
    for column, answer in answers.items():
        regex = answer_regex(columns[column]['sdtype'])
        assert re.fullmatch(regex, json.dumps(answer)), (column, answer)
        assert answer['kind'] in ('numerical', 'categorical', 'text')


def test_fit_with_a_backbone_records_checked_sources(tiny_lm, adult):
    data, metadata = adult
    synthesizer = FastGenSynthesizer(metadata, backbone=tiny_lm)
    synthesizer.fit({'adult': data})
    table = synthesizer.get_distributions()
    modelled = table[table['kind'] != 'lookup']
    assert set(modelled['source']) <= {'llm', 'llm-refined'}
    assert len(next(iter(synthesizer.sample(200).values()))) == 200


def test_proposals_are_checked_against_the_data():
    values = np.random.default_rng(0).normal(10, 2, 3000)
    kept = check_choice({'family': 'normal', 'params': [10.0, 2.0]}, values)
    assert (kept.family, kept.source) == ('normal', 'llm')
    refitted = check_choice({'family': 'normal', 'params': [1.0]}, values)
    assert refitted.family == 'normal' and refitted.source == 'llm-refined'
    assert abs(refitted.params[0] - 10) < 0.2
    misfit = check_choice({'family': 'uniform', 'params': [0.0, 1.0]}, values)
    assert (misfit.family, misfit.source) == ('empirical', 'llm-refined')
