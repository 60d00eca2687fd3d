"""The sdv-llm command line."""

import json

import pandas as pd
import pytest

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


def _evaluation_files(tmp_path, iris):
    data, metadata = iris
    data = data.sample(frac=1, random_state=0).reset_index(drop=True)
    paths = {n: tmp_path / f'{n}.csv' for n in ('train', 'holdout', 'synthetic', 'narrow')}
    data.iloc[:100].to_csv(paths['train'], index=False)
    data.iloc[100:].to_csv(paths['holdout'], index=False)
    data.iloc[:60].to_csv(paths['synthetic'], index=False)     # copies of training rows
    data.iloc[:60].drop(columns='species').to_csv(paths['narrow'], index=False)
    metadata.save_to_json(tmp_path / 'm.json')
    return {n: str(p) for n, p in paths.items()}, str(tmp_path / 'm.json')


def test_evaluate_prints_quality_and_diagnostic(tmp_path, iris, capsys):
    files, _ = _evaluation_files(tmp_path, iris)
    out = tmp_path / 'quality.csv'
    assert main(['evaluate', files['train'], files['synthetic'], '-o', str(out)]) == 0
    printed = capsys.readouterr().out
    assert 'quality and diagnostic of 60 synthetic rows' in printed and 'diagnostic' in printed
    table = pd.read_csv(out).set_index('metric')['value']
    assert {'quality', 'column_shapes', 'column_pair_trends', 'diagnostic'} <= set(table.index)
    assert table['diagnostic'] == 1.0 and 0.5 < table['quality'] <= 1


def test_evaluate_privacy_needs_a_holdout_and_writes_the_report(tmp_path, iris, capsys):
    files, meta = _evaluation_files(tmp_path, iris)
    with pytest.raises(SystemExit, match='--privacy needs --holdout'):
        main(['evaluate', files['train'], files['synthetic'], '--privacy'])
    out = tmp_path / 'privacy.csv'
    main(['evaluate', files['train'], files['synthetic'], '--metadata', meta, '--holdout',
          files['holdout'], '--privacy', '--audits', 'copies,dcr,membership', '-o', str(out)])
    printed = capsys.readouterr().out
    assert 'privacy audits of 60 synthetic rows against 100 real rows and 50 holdout' in printed
    assert 'mia_auc' in printed and 'details:' in printed
    report = pd.read_csv(out).set_index('audit')
    assert list(report.index) == ['exact_copy_rate', 'holdout_copy_rate', 'dcr_share',
                                  'dcr_overfitting_protection', 'dcr_baseline_protection',
                                  'mia_auc']
    assert report.loc['exact_copy_rate', 'value'] == 1.0
    assert report.loc['dcr_baseline_protection', 'value'] == 0.0
    assert report.loc['mia_auc', 'ci_low'] <= report.loc['mia_auc', 'value']


def test_evaluate_names_what_is_wrong(tmp_path, iris):
    files, meta = _evaluation_files(tmp_path, iris)
    with pytest.raises(SystemExit, match="synthetic lacks the column.*'species'"):
        main(['evaluate', files['train'], files['narrow'], '--metadata', meta])
    with pytest.raises(SystemExit, match="synthetic lacks the column.*'species'"):
        main(['evaluate', files['train'], files['narrow'], '--holdout', files['holdout'],
              '--privacy', '--audits', 'copies'])
    with pytest.raises(SystemExit, match='--audits: unknown copy'):
        main(['evaluate', files['train'], files['synthetic'], '--holdout', files['holdout'],
              '--privacy', '--audits', 'copy'])
    with pytest.raises(SystemExit, match='no such data file'):
        main(['evaluate', files['train'], str(tmp_path / 'missing.csv')])


def test_fit_with_differential_privacy(tmp_path, capsys):
    """``--differential-privacy`` takes a JSON budget; the saved model reports what it spent."""
    from sdv_llm.single_table import LLMSynthesizer
    from tests.test_differential_privacy import metadata, table

    csv, meta, model = (tmp_path / n for n in ('people.csv', 'm.json', 'm.pkl'))
    table(200).to_csv(csv, index=False)
    metadata().save_to_json(meta)
    budget = '{"epsilon": 3, "delta": 1e-4}'
    assert main(['fit', str(csv), '--metadata', str(meta), '-o', str(model), *TINY_ARGS,
                 '--differential-privacy', budget]) == 0
    spent = LLMSynthesizer.load(str(model)).get_privacy_info()['differential_privacy']
    assert spent['target_epsilon'] == 3 and 0 < spent['epsilon'] <= 3
    with pytest.raises(SystemExit):
        main(['fit', str(csv), '--metadata', str(meta), '-o', str(model),
              '--differential-privacy', 'three'])
    assert "takes 'off' or a JSON object" in capsys.readouterr().err
