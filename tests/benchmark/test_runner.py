"""The benchmark harness end to end on iris (smoke profile), and its pieces."""

import json
import shutil

import pandas as pd
import pytest

from sdv_llm.benchmark import run
from sdv_llm.benchmark.datasets import dataset_names, load_dataset
from sdv_llm.benchmark.peers import PeerError, align_dtypes, run_peer
from sdv_llm.benchmark.profiles import PROFILES
from sdv_llm.benchmark.report import BEGIN, END, update_benchmarks_file
from sdv_llm.benchmark.runner import _finished_runs
from sdv_llm.cli import main
from tests.conftest import DATA


@pytest.fixture(scope='module')
def smoke(tmp_path_factory):
    output = tmp_path_factory.mktemp('smoke')
    benchmarks = output / 'BENCHMARKS.md'
    benchmarks.write_text('# Benchmarks\n\nIntro.\n\n## 2026-01-01: history\n\nkept\n')
    results = run(profile='smoke', data_dir=DATA, output=output / 'results',
                  synthesizers='GaussianCopulaSynthesizer,LLMSynthesizer,NoSuchSynthesizer',
                  update_benchmarks=True, benchmarks_file=benchmarks, verbose=False)
    return results, output


def test_split_is_seeded_80_20_with_metadata_of_the_full_table():
    dataset = load_dataset('iris', DATA, seed=3)
    again = load_dataset('iris', DATA, seed=3)
    assert (len(dataset.train), len(dataset.holdout)) == (120, 30)
    pd.testing.assert_frame_equal(dataset.train, again.train)
    assert 'iris' in dataset_names(DATA) and 'titanic' in dataset_names(DATA)


def test_smoke_run_writes_csv_json_markdown_config_and_plots(smoke):
    results, output = smoke
    folder = output / 'results'
    for name in ('results.csv', 'results.json', 'results.md', 'config.json',
                 'quality_vs_fit_time.png', 'marginals_iris.png'):
        assert (folder / name).stat().st_size > 0, name
    table = pd.read_csv(folder / 'results.csv')
    assert list(table['synthesizer']) == ['GaussianCopulaSynthesizer', 'LLMSynthesizer',
                                          'NoSuchSynthesizer']
    done = results[results['error'].isna()]
    for column in ('quality', 'quality_all_pairs', 'diagnostic', 'invalid_row_rate',
                   'kl_divergence', 'correlation_frobenius', 'tstr', 'trtr', 'detection',
                   'dcr_share', 'dcr_overfitting_protection', 'fit_seconds',
                   'rows_per_second', 'peak_rss_mb', 'model_bytes'):
        assert done[column].notna().all(), column
    assert (done['sampled_rows'] == 120).all() and (done['ml_metric'] == 'macro_f1').all()
    assert 'unknown synthesizer' in results.loc[2, 'error']
    assert results['version_sdv'].notna().all() and (results['seed'] == 0).all()
    markdown = (folder / 'results.md').read_text()
    assert 'LLMSynthesizer | GaussianCopulaSynthesizer |' in markdown
    assert json.loads((folder / 'config.json').read_text())['profile'] == 'smoke'


def test_benchmarks_file_keeps_history_and_replaces_its_section(smoke):
    results, output = smoke
    benchmarks = output / 'BENCHMARKS.md'
    text = benchmarks.read_text()
    assert text.index(BEGIN) < text.index(END) < text.index('## 2026-01-01: history')
    update_benchmarks_file(benchmarks, results, {'profile': 'smoke'}, {})
    again = benchmarks.read_text()
    assert again.count(BEGIN) == 1 and 'kept' in again


def test_bundled_adult_is_used_when_the_data_folder_is_missing(tmp_path, capsys):
    results = run(profile='smoke', data_dir=tmp_path / 'missing', max_rows=300,
                  synthesizers='GaussianCopulaSynthesizer', plots=False)
    assert list(results['dataset']) == ['adult']
    assert results.loc[0, 'data_source'] == 'bundled' and results.loc[0, 'quality'] > 0
    assert 'bundled' in capsys.readouterr().out


def test_cli_benchmark_command(tmp_path, capsys):
    main(['benchmark', '--profile', 'smoke', '--data-dir', str(DATA), '--datasets', 'titanic',
          '--synthesizers', 'GaussianCopulaSynthesizer', '--max-rows', '300', '--no-plots',
          '--output', str(tmp_path / 'out'), '--quiet'])
    assert '1 runs (0 failed)' in capsys.readouterr().out
    assert pd.read_csv(tmp_path / 'out' / 'results.csv').loc[0, 'ml_metric'] == 'roc_auc'


def test_a_peer_without_environment_is_recorded_not_raised(iris, monkeypatch):
    monkeypatch.delenv('SDV_LLM_PEERS_PYTHON', raising=False)
    data, metadata = iris
    with pytest.raises(PeerError, match='no Python environment'):
        run_peer('tabularargn', data, 10, metadata, 'iris')
    with pytest.raises(PeerError, match='failed'):
        run_peer('tabularargn', data, 10, metadata, 'iris', python=shutil.which('false'))


def test_align_dtypes_restores_numbers_and_strings():
    reference = pd.DataFrame({'n': [1, 2], 's': ['1', 'a'], 'f': [0.5, 1.0], 'w': [1.0, 2.0]})
    read_back = pd.DataFrame({'n': ['1', '2'], 's': [1.0, None], 'f': ['0.5', '2'], 'w': [3, 4]})
    aligned = align_dtypes(read_back, reference)
    assert aligned['n'].tolist() == [1, 2] and aligned['s'].tolist()[0] == '1'
    assert aligned['f'].dtype == float
    # TabularARGN writes a float column's whole values as integers: SDMetrics' Data Structure
    # then counted the column as another type (diagnostic 0.63 on default_credit).
    assert aligned['w'].dtype == float and aligned['w'].tolist() == [3.0, 4.0]
    flags = align_dtypes(pd.DataFrame({'b': ['True', 'false'], 'm': ['True', None]}),
                         pd.DataFrame({'b': [True, False], 'm': [True, False]}))
    assert flags['b'].dtype == bool and flags['b'].tolist() == [True, False]
    assert flags['m'][0] is True and pd.isna(flags['m'][1])


def _shop(root, referrers=False):
    """customers -> orders (3 each) -> reviews (1 per even order); with ``referrers``, a
    self-reference customers.referrer_id -> customers.customer_id (every other customer)."""
    folder = root / 'shop'
    folder.mkdir()
    customers = pd.DataFrame({'customer_id': range(40),
                              'segment': ['a', 'b', 'c', 'd'] * 10,
                              'age': [20 + i % 30 for i in range(40)]})
    self_references = []
    if referrers:
        customers['referrer_id'] = [i // 2 if i % 2 else None for i in range(40)]
        self_references = [{'parent_table_name': 'customers', 'parent_primary_key': 'customer_id',
                            'child_table_name': 'customers', 'child_foreign_key': 'referrer_id'}]
    orders = pd.DataFrame({'order_id': range(120), 'customer_id': [i % 40 for i in range(120)],
                           'amount': [float(i % 17) for i in range(120)]})
    reviews = pd.DataFrame({'review_id': range(60), 'order_id': range(0, 120, 2),
                            'stars': [1 + i % 5 for i in range(60)]})
    for name, table in (('customers', customers), ('orders', orders), ('reviews', reviews)):
        table.to_csv(folder / f'{name}.csv', index=False)
    (folder / 'relationships.json').write_text(json.dumps({
        'primary_keys': {'customers': 'customer_id', 'orders': 'order_id',
                         'reviews': 'review_id'},
        'relationships': [
            {'parent_table_name': 'customers', 'parent_primary_key': 'customer_id',
             'child_table_name': 'orders', 'child_foreign_key': 'customer_id'},
            {'parent_table_name': 'orders', 'parent_primary_key': 'order_id',
             'child_table_name': 'reviews', 'child_foreign_key': 'order_id'},
            *self_references]}))


def test_multi_table_subset_runs_both_synthesizers_and_scores_relationships(tmp_path):
    _shop(tmp_path)
    assert dataset_names(tmp_path, multi_table=True) == ['shop']
    results = run(profile='smoke', data_dir=tmp_path, datasets='shop', plots=False,
                  tables='customers,orders', verbose=False,
                  synthesizers='HMASynthesizer,LLMMultiTableSynthesizer')
    assert set(results['dataset']) == {'shop[customers,orders]'}
    by_name = results.set_index('synthesizer')
    for name in ('HMASynthesizer', 'LLMMultiTableSynthesizer'):
        row = by_name.loc[name]
        assert pd.isna(row['error']), row['error']
        assert row['referential_integrity'] == 1.0 and row['unique_primary_keys']
        assert 0 < row['cardinality'] <= 1 and 'intertable_trends' in row
    # Every customer has exactly 3 orders: sampled counts are kept inside the real range
    # [3, 3], so Relationship Validity is 1.0 after one epoch of training.
    ours = by_name.loc['LLMMultiTableSynthesizer']
    assert ours['relationship_validity'] == 1.0
    assert json.loads(ours['conditioning_parents']) == {'orders': 'customers.customer_id -> orders.customer_id'}
    # Table parameters (not constructor arguments) went to every table's LLMSynthesizer.
    assert json.loads(ours['parameters_json'])['epochs'] == 1


def test_a_self_reference_is_kept_warned_about_and_left_out_of_the_sdmetrics_reports(tmp_path):
    # SDMetrics' multi-table QualityReport raises a KeyError on a self-reference (chinook's
    # employees.ReportsTo); the harness scores the rest and still checks its keys.
    _shop(tmp_path, referrers=True)
    dataset = load_dataset('shop', tmp_path, tables='customers,orders')
    assert {'parent_table_name': 'customers', 'parent_primary_key': 'customer_id',
            'child_table_name': 'customers', 'child_foreign_key': 'referrer_id'} \
        in dataset.metadata.relationships
    results = run(profile='smoke', data_dir=tmp_path, datasets='shop', plots=False,
                  tables='customers,orders', verbose=False,
                  synthesizers='LLMMultiTableSynthesizer')
    row = results.iloc[0]
    assert pd.isna(row['error']), row['error']
    assert 0 < row['quality'] <= 1 and 0 < row['cardinality'] <= 1
    assert row['referential_integrity'] == 1.0
    assert 'customers.customer_id -> customers.referrer_id' in row['warnings']


def test_a_foreign_key_to_a_table_left_out_is_categorical(tmp_path):
    _shop(tmp_path)
    dataset = load_dataset('shop', tmp_path, tables='customers,reviews')
    assert dataset.name == 'shop[customers,reviews]' and not dataset.metadata.relationships
    assert dataset.metadata.tables['reviews'].columns['order_id']['sdtype'] == 'categorical'
    assert load_dataset('shop', tmp_path, tables='all').name == 'shop'
    with pytest.raises(ValueError, match="no table 'payments'"):
        load_dataset('shop', tmp_path, tables='customers,payments')


def test_resume_keeps_finished_runs_and_runs_the_rest(tmp_path):
    output = tmp_path / 'out'
    first = run(profile='smoke', data_dir=DATA, datasets='iris', output=output,
                synthesizers='GaussianCopulaSynthesizer,NoSuchSynthesizer', plots=False,
                verbose=False)
    assert (output / 'samples' / 'iris__GaussianCopulaSynthesizer.pkl').exists()
    again = run(profile='smoke', data_dir=DATA, datasets='iris', output=output,
                synthesizers='GaussianCopulaSynthesizer,NoSuchSynthesizer,TVAESynthesizer',
                resume=True, verbose=False)
    assert list(again['synthesizer']) == ['GaussianCopulaSynthesizer', 'TVAESynthesizer',
                                          'NoSuchSynthesizer']
    # The finished run is kept as recorded (same fit time), the failed and new ones ran.
    assert again.loc[0, 'fit_seconds'] == pytest.approx(first.loc[0, 'fit_seconds'])
    assert again.loc[1, 'quality'] > 0 and 'unknown' in again.loc[2, 'error']
    assert (output / 'marginals_iris.png').exists()
    with pytest.raises(ValueError, match='seed=0, now 1'):
        run(profile='smoke', data_dir=DATA, datasets='iris', output=output, seed=1,
            synthesizers='GaussianCopulaSynthesizer', resume=True, verbose=False)


def test_small_tables_inside_scikit_learn_load_with_targets(tmp_path):
    from sdv_llm.benchmark.datasets import load_dataset
    from sdv_llm.benchmark.profiles import get_profile

    assert {'breast_cancer', 'wine', 'diabetes'} <= set(get_profile('small').datasets)
    for name, rows, target in (('breast_cancer', 569, 'diagnosis'), ('wine', 178, 'cultivar'),
                               ('diabetes', 442, 'progression')):
        dataset = load_dataset(name, data_dir=tmp_path)  # not in the folder: from scikit-learn
        assert len(dataset.train) + len(dataset.holdout) == rows
        assert dataset.config.target in dataset.train.columns
    assert set(load_dataset('wine', data_dir=tmp_path).train['cultivar']) <= {
        'class_0', 'class_1', 'class_2'}


def test_privacy_audits_are_columns_behind_a_flag(tmp_path):
    # Existing profiles keep their cost; the privacy profile turns the audits on.
    assert [n for n, p in PROFILES.items() if p.privacy_audits] == ['privacy']
    assert PROFILES['privacy'].datasets == ('adult', 'bank_marketing', 'default_credit')
    main(['benchmark', '--profile', 'smoke', '--data-dir', str(DATA), '--datasets', 'iris',
          '--synthesizers', 'GaussianCopulaSynthesizer', '--privacy-audits', '--no-plots',
          '--output', str(tmp_path / 'out'), '--quiet'])
    row = pd.read_csv(tmp_path / 'out' / 'results.csv').iloc[0]
    assert 'metric_errors' not in row
    for column in ('exact_copy_rate', 'holdout_copy_rate', 'dcr_baseline_protection', 'mia_auc',
                   'mia_auc_ci_low', 'singling_out_univariate_risk',
                   'singling_out_multivariate_risk', 'linkability_risk',
                   'linkability_risk_ci_high', 'inference_risk_max', 'inference_risk_mean'):
        assert 0 <= row[column] <= 1, column
    assert row['mia_auc_ci_low'] <= row['mia_auc'] <= row['mia_auc_ci_high']
    assert 'attack' in json.loads(row['privacy_audit_details'])['linkability_risk']
    markdown = (tmp_path / 'out' / 'results.md').read_text()
    assert '| synthesizer | copy rate | holdout copy rate |' in markdown
    assert json.loads((tmp_path / 'out' / 'config.json').read_text())['privacy_audits']


def test_runs_recorded_before_privacy_audits_existed_can_be_resumed(tmp_path):
    config = {'profile': 'smoke', 'data_dir': 'd', 'device': 'cpu', 'seed': 0, 'max_rows': 10,
              'llm_params': None, 'split': True, 'tables': None, 'evaluation_rows': 200,
              'profile_params': {}}
    (tmp_path / 'config.json').write_text(json.dumps(config))
    (tmp_path / 'results.json').write_text(json.dumps([{'dataset': 'iris',
                                                        'synthesizer': 'X', 'error': None}]))
    assert list(_finished_runs(tmp_path, {**config, 'privacy_audits': False})) == [('iris', 'X')]
    with pytest.raises(ValueError, match='privacy_audits=False, now True'):
        _finished_runs(tmp_path, {**config, 'privacy_audits': True})


def test_dp_variants_and_the_quality_epsilon_plot(tmp_path):
    from sdv_llm.benchmark.plots import dp_variants, quality_vs_epsilon

    results = pd.DataFrame({
        'dataset': ['adult'] * 6,
        'synthesizer': ['LLMSynthesizer', 'LLMSynthesizer-dp3', 'LLMSynthesizer-dp10',
                        'TabularARGN-dp3', 'GaussianCopulaSynthesizer', 'LLMSynthesizer-small'],
        'quality': [0.95, 0.88, 0.91, 0.80, 0.85, 0.9],
    })
    rows = dp_variants(results).set_index('synthesizer')
    assert sorted(rows.index) == ['LLMSynthesizer', 'LLMSynthesizer-dp10', 'LLMSynthesizer-dp3',
                                  'TabularARGN-dp3']
    assert rows.loc['LLMSynthesizer-dp3', 'epsilon'] == 3.0
    assert rows.loc['LLMSynthesizer', 'epsilon'] == float('inf')
    assert rows.loc['TabularARGN-dp3', 'base'] == 'TabularARGN'
    assert quality_vs_epsilon(results, tmp_path / 'q.png').stat().st_size > 1000
    assert quality_vs_epsilon(results.iloc[[0, 4]], tmp_path / 'none.png') is None
