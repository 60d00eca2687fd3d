"""The sdv-llm command line."""

import json

import pandas as pd

from sdv_llm.cli import main

TINY_ARGS = ['--epochs', '1', '--embedding-dim', '16', '--num-layers', '1', '--cpu',
             '--random-state', '0']


def test_fit_then_sample(tmp_path, iris, capsys):
    data, metadata = iris
    csv, meta, model, out = (tmp_path / n for n in ('iris.csv', 'm.json', 'm.pkl', 'out.csv'))
    data.to_csv(csv, index=False)
    metadata.save_to_json(meta)
    assert main(['fit', str(csv), '--metadata', str(meta), '-o', str(model), *TINY_ARGS]) == 0
    assert main(['sample', str(model), '-n', '77', '-o', str(out), '--seed', '3']) == 0
    sampled = pd.read_csv(out)
    assert len(sampled) == 77 and list(sampled.columns) == list(data.columns)
    assert 'rows/s' in capsys.readouterr().out


def test_demo_prints_both_synthesizers(tmp_path, capsys):
    scores = tmp_path / 'scores.json'
    main(['demo', '--rows', '400', *TINY_ARGS, '--json', str(scores)])
    printed = capsys.readouterr().out
    assert 'LLMSynthesizer' in printed and 'GaussianCopulaSynthesizer' in printed
    rows = json.loads(scores.read_text())
    assert [r['synthesizer'] for r in rows] == ['LLMSynthesizer', 'GaussianCopulaSynthesizer']
    assert all(0 < r['quality'] <= 1 and r['diagnostic'] == 1.0 for r in rows)
