"""Run a benchmark: every synthesizer on every dataset, scored, written to a results folder."""

import json
import logging
import os
import platform
import random
import time
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from sdv_llm.benchmark import cost
from sdv_llm.benchmark.datasets import (
    BUNDLED,
    DEFAULT_DATA_DIR,
    dataset_names,
    load_bundled_adult,
    load_dataset,
)
from sdv_llm.benchmark.peers import align_dtypes, run_peer
from sdv_llm.benchmark.profiles import get_profile
from sdv_llm.benchmark.synthesizers import SYNTHESIZERS, get_spec
from sdv_llm.evaluation import (
    anonymity,
    copies,
    detection,
    efficacy,
    fidelity,
    integrity,
    membership,
    privacy,
    quality,
    validity,
)

LOGGER = logging.getLogger(__name__)
_PACKAGES = ('sdv_llm', 'sdv', 'sdmetrics', 'rdt', 'torch', 'transformers', 'peft',
             'scikit-learn', 'pandas', 'numpy')


def environment(seed=None):
    """Hardware and library versions, for every results row.

    Returns:
        dict: ``cpu``, ``cores``, ``torch_threads``, ``gpu``, ``platform``, ``python``,
        one ``version_<package>`` per library, and ``seed``.
    """
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                cpu = line.split(':', 1)[1].strip()
                break
    except OSError:
        pass
    result = {'cpu': cpu, 'cores': os.cpu_count(), 'torch_threads': torch.get_num_threads(),
              'gpu': torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
              'platform': platform.platform(), 'python': platform.python_version()}
    for package in _PACKAGES:
        try:
            result[f'version_{package}'] = version(package)
        except PackageNotFoundError:
            result[f'version_{package}'] = None
    result['seed'] = seed
    return result


def _seed_everything(seed):
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _record(row, errors, name, function, *args, **kwargs):
    """Run one metric; on failure keep its error and go on."""
    try:
        value = function(*args, **kwargs)
    except Exception as error:  # noqa: BLE001  one failing metric must not stop the others
        errors[name] = f'{type(error).__name__}: {error}'
        LOGGER.warning('metric %s failed: %s', name, errors[name])
        return
    if isinstance(value, dict):
        row.update(value)
    else:
        row[name] = value


def score_privacy_audits(row, errors, dataset, synthetic, evaluation_rows=2000, seed=0,
                         n_attacks=anonymity.N_ATTACKS):
    """The privacy audits of ``sdv_llm.evaluation`` (those of ``privacy_report``) into ``row``.

    Columns: ``exact_copy_rate`` and ``holdout_copy_rate``; ``dcr_baseline_protection``
    (with ``dcr_median_synthetic``, ``dcr_median_random``); ``mia_auc`` (with
    ``mia_auc_ci_low``, ``mia_auc_ci_high``, ``mia_targets``); anonymeter's
    ``singling_out_univariate_risk``, ``singling_out_multivariate_risk``, ``linkability_risk``
    and ``inference_risk_max`` (each with ``_ci_low`` and ``_ci_high``),
    ``inference_risk_max_column`` and ``inference_risk_mean``; ``privacy_audit_details`` (JSON:
    success rates and anonymeter's warnings by audit). A failing audit is recorded in
    ``errors``; the others go on.

    Args:
        row (dict): the results row, updated.
        errors (dict): error by metric, updated.
        dataset (Dataset): the real data; needs a holdout.
        synthetic (pandas.DataFrame): the sampled rows.
        evaluation_rows (int): most rows of the distance audits (at most 1,000: SDMetrics'
            distances are slow) and most membership targets of each class.
        seed (int): seed of subsamples and attacks.
        n_attacks (int): anonymeter's attacks of each kind.
    """
    train, holdout, meta, name = dataset.train, dataset.holdout, dataset.metadata, dataset.name
    rows = min(evaluation_rows, 1000)
    _record(row, errors, 'exact_copy_rate', copies.exact_copy_rate, train, synthetic, holdout,
            meta, name)
    _record(row, errors, 'dcr_baseline_protection', privacy.dcr_baseline_protection, train,
            synthetic, meta, name, max_rows=rows, seed=seed)
    _record(row, errors, 'mia_auc', membership.membership_inference_auc, train, synthetic,
            holdout, meta, name, max_rows=rows, seed=seed)
    for mode in ('univariate', 'multivariate'):
        _record(row, errors, f'singling_out_{mode}_risk', anonymity.singling_out_risk, train,
                synthetic, holdout, meta, name, mode=mode, n_attacks=n_attacks, seed=seed)
    _record(row, errors, 'linkability_risk', anonymity.linkability_risk, train, synthetic,
            holdout, meta, name, n_attacks=n_attacks, seed=seed)
    _record(row, errors, 'inference_risk', anonymity.inference_risk, train, synthetic, holdout,
            meta, name, n_attacks=n_attacks, seed=seed)
    details = {key[:-len('_detail')]: row.pop(key) for key in list(row)
               if key.endswith('_detail')}
    if details:
        row['privacy_audit_details'] = json.dumps(details)


def score_single_table(dataset, synthetic, evaluation_rows=2000, seed=0, privacy_audits=False,
                       privacy_attacks=anonymity.N_ATTACKS):
    """Every single-table metric of one synthetic table; a failing metric is recorded.

    Args:
        dataset (Dataset): the real data (train, holdout, metadata, target).
        synthetic (pandas.DataFrame): the sampled rows.
        evaluation_rows (int): most rows of the detection and DCR metrics.
        seed (int): seed of subsamples and models.
        privacy_audits (bool): also the privacy audits (:func:`score_privacy_audits`; about
            half a minute for 5,000 rows, more for wide tables); needs a holdout.
        privacy_attacks (int): anonymeter's attacks of each kind in the audits.

    Returns:
        dict: metric values, and ``metric_errors`` (JSON: error by metric) when any failed.
    """
    train, holdout, meta, name = dataset.train, dataset.holdout, dataset.metadata, dataset.name
    row, errors = {}, {}
    _record(row, errors, 'quality', quality.quality_scores, train, synthetic, meta, name)
    _record(row, errors, 'invalid_rows', validity.invalid_rows, synthetic, meta, name)
    if 'invalid_rows' in row:
        row['invalid_row_rate'] = row['invalid_rows'] / max(len(synthetic), 1)
    _record(row, errors, 'kl_divergence', fidelity.mean_kl_divergence, train, synthetic, meta,
            name)
    _record(row, errors, 'correlation_frobenius', fidelity.correlation_frobenius, train,
            synthetic, meta, name)
    _record(row, errors, 'association_frobenius', fidelity.association_frobenius, train,
            synthetic, meta, name)
    _record(row, errors, 'detection', detection.detection_score, train, synthetic, meta, name,
            max_rows=evaluation_rows, seed=seed)
    if holdout is not None and len(holdout):
        if dataset.config.target:
            _record(row, errors, 'ml_efficacy', efficacy.ml_efficacy, train, synthetic, holdout,
                    dataset.config.target, dataset.config.task, meta, name, seed=seed)
        _record(row, errors, 'dcr_share', privacy.dcr_share, train, synthetic, holdout, meta,
                name, max_rows=evaluation_rows, seed=seed)
        _record(row, errors, 'dcr_overfitting_protection', privacy.dcr_overfitting_protection,
                train, synthetic, holdout, meta, name, max_rows=min(evaluation_rows, 1000),
                seed=seed)
        if privacy_audits:
            score_privacy_audits(row, errors, dataset, synthetic, evaluation_rows, seed,
                                 privacy_attacks)
    if errors:
        row['metric_errors'] = json.dumps(errors)
    return row


def score_multi_table(dataset, synthetic):
    """Multi-table QualityReport, Relationship Validity and referential integrity.

    The SDMetrics reports leave out self-references, which they cannot score;
    ``referential_integrity`` counts every relationship.

    Args:
        dataset (Dataset): the real database.
        synthetic (dict[str, pandas.DataFrame]): the sampled database.

    Returns:
        dict: ``quality``, ``column_shapes``, ``column_pair_trends``, ``cardinality``,
        ``intertable_trends``, ``diagnostic``, ``relationship_validity``,
        ``referential_integrity``, ``unique_primary_keys`` and ``metric_errors`` when any
        failed.
    """
    row, errors = {}, {}
    _record(row, errors, 'quality', quality.multi_table_quality_scores, dataset.train,
            synthetic, dataset.metadata)
    _record(row, errors, 'diagnostic', quality.multi_table_diagnostic_scores, dataset.train,
            synthetic, dataset.metadata)
    _record(row, errors, 'referential_integrity', integrity.referential_integrity, synthetic,
            dataset.metadata)
    _record(row, errors, 'unique_primary_keys', integrity.unique_primary_keys, synthetic,
            dataset.metadata)
    if errors:
        row['metric_errors'] = json.dumps(errors)
    return row


def _synthesizer_warnings(caught, spec):
    """The synthesizer's own warnings (what it left out or changed), JSON; ``None`` if none.

    Kept: ``UserWarning``s raised from the synthesizer's package (``sdv`` or ``sdv_llm``),
    each message once, at most 300 characters.
    """
    package = spec.target.partition('.')[0].partition(':')[0]
    messages = []
    for warning in caught:
        source = Path(warning.filename).parts
        if package in source or 'sdv' in source:
            message = str(warning.message)[:300]
            if message not in messages:
                messages.append(message)
    return json.dumps(messages) if messages else None


def _llm_details(synthesizer):
    model = synthesizer._model
    return {'epochs_run': len(model.loss_values),
            'parameters': int(sum(p.numel() for p in model.model.parameters()))}


def run_one(dataset, name, params=None, device='cpu', seed=0, peers_python=None,
            evaluation_rows=2000, timeout=None, privacy_audits=False,
            privacy_attacks=anonymity.N_ATTACKS):
    """Fit one synthesizer on one dataset, sample as many rows as train has, and score them.

    Args:
        dataset (Dataset): the data.
        name (str): a registered synthesizer.
        params (dict or None): parameter overrides.
        device (str): ``'cpu'`` or ``'cuda'``.
        seed (int): seed of everything.
        peers_python (str or None): interpreter of the peers' environment.
        evaluation_rows (int): most rows of the detection and DCR metrics.
        timeout (float or None): seconds a peer may run.
        privacy_audits (bool): score the privacy audits too (single tables with a holdout).
        privacy_attacks (int): anonymeter's attacks of each kind in the audits.

    Returns:
        tuple: ``(row, synthetic)``: the flat results dict (``error`` holds the exception when
        the synthesizer failed) and the synthetic data (``None`` on failure).
    """
    spec = get_spec(name)
    row = {'dataset': dataset.name, 'synthesizer': name, 'kind': spec.kind,
           'multi_table': dataset.multi_table, 'error': None}
    if dataset.multi_table:
        row['train_rows'] = sum(len(t) for t in dataset.train.values())
        row['columns'] = sum(t.shape[1] for t in dataset.train.values())
    else:
        row.update({'train_rows': len(dataset.train), 'columns': dataset.train.shape[1],
                    'holdout_rows': 0 if dataset.holdout is None else len(dataset.holdout)})
    _seed_everything(seed)
    try:
        if spec.kind == 'peer':
            result = run_peer(spec.target, dataset.train, len(dataset.train), dataset.metadata,
                              dataset.table_name, peers_python, spec.parameters(params),
                              seed, device, timeout)
            synthetic = align_dtypes(result.synthetic, dataset.train)
            row.update({'fit_seconds': result.fit_seconds,
                        'sample_seconds': result.sample_seconds,
                        'peak_rss_mb': result.peak_rss_mb,
                        'cuda_max_allocated_mb': result.cuda_max_allocated_mb,
                        'model_bytes': result.model_bytes, 'peer_version': result.version,
                        'parameters_json': json.dumps(spec.parameters(params))})
        else:
            parameters = spec.parameters(params, device, seed)
            row['parameters_json'] = json.dumps(parameters, default=str)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter('always', UserWarning)
                synthesizer = spec.build(dataset.metadata, params, device, seed)
                data = dataset.train if dataset.multi_table else {dataset.table_name:
                                                                   dataset.train}
                with cost.measure(cuda=device == 'cuda') as fitting:
                    synthesizer.fit(data)
                with cost.measure(cuda=device == 'cuda') as sampling:
                    if dataset.multi_table:
                        synthetic = synthesizer.sample_scale(scale=1.0)
                    else:
                        synthetic = synthesizer.sample(
                            num_rows=len(dataset.train))[dataset.table_name]
            row['warnings'] = _synthesizer_warnings(caught, spec)
            cuda = [m.cuda_max_allocated_mb for m in (fitting, sampling)
                    if m.cuda_max_allocated_mb is not None]
            row.update({'fit_seconds': fitting.seconds, 'sample_seconds': sampling.seconds,
                        'peak_rss_mb': max(fitting.peak_rss_mb, sampling.peak_rss_mb),
                        'cuda_max_allocated_mb': max(cuda) if cuda else None,
                        'model_bytes': cost.saved_size(synthesizer)})
            if name.startswith('LLMSynthesizer'):
                try:
                    row.update(_llm_details(synthesizer))
                except Exception as error:  # noqa: BLE001  core internals may change
                    LOGGER.debug('no LLMSynthesizer details: %s', error)
            if hasattr(synthesizer, 'get_conditioning_parents'):
                row['conditioning_parents'] = json.dumps(
                    synthesizer.get_conditioning_parents())
    except Exception as error:  # noqa: BLE001  one failing synthesizer must not stop the others
        row['error'] = f'{type(error).__name__}: {error}'
        LOGGER.warning('%s on %s failed: %s', name, dataset.name, row['error'])
        return row, None
    sampled = (sum(len(t) for t in synthetic.values()) if dataset.multi_table
               else len(synthetic))
    row['sampled_rows'] = sampled
    if not sampled:
        row['error'] = 'sampled no rows'
        return row, None
    row['rows_per_second'] = sampled / row['sample_seconds'] if row['sample_seconds'] else None
    if dataset.multi_table:
        row.update(score_multi_table(dataset, synthetic))
    else:
        row.update(score_single_table(dataset, synthetic, evaluation_rows, seed,
                                      privacy_audits, privacy_attacks))
    return row, synthetic


def _names(value):
    if value is None:
        return None
    return tuple(v.strip() for v in value.split(',') if v.strip()) if isinstance(value, str) \
        else tuple(value)


def _plan(datasets, profile, data_dir, max_rows, seed, split, notes, tables=None):
    """Which datasets to load, and how; the bundled Adult when the data folder is missing."""
    root = Path(data_dir or DEFAULT_DATA_DIR)
    names = _names(datasets) or profile.datasets
    if not root.is_dir():
        wanted = names or (BUNDLED,)
        notes.append(f'Data folder {root} not found: using the Adult table bundled with '
                     f'sdv_llm (sdv_llm.data.load_adult)'
                     + (f'; skipped {", ".join(n for n in wanted if n != BUNDLED)}'
                        if any(n != BUNDLED for n in wanted) else '') + '.')
        return [(BUNDLED, lambda: load_bundled_adult(max_rows, seed, split))]
    if names is None:
        names = tuple(dataset_names(root)) + tuple(dataset_names(root, multi_table=True))
    return [(n, lambda n=n: load_dataset(n, root, max_rows, seed, split, tables)) for n in names]


def run(datasets=None, synthesizers=None, profile='quick', data_dir=None, output=None,
        device='cpu', seed=0, max_rows=None, llm_params=None, peers_python=None, split=True,
        update_benchmarks=None, benchmarks_file='BENCHMARKS.md', plots=True,
        peer_timeout=None, verbose=True, resume=False, tables=None, privacy_audits=None):
    """Run the benchmark and write its results.

    Every synthesizer fits on the same seeded 80 % train split of each single table (the whole
    database of a multi-table dataset) and samples as many rows; the rows are scored with
    :func:`score_single_table` or :func:`score_multi_table`. A synthesizer or metric that
    fails is recorded with its error; the others go on.

    Args:
        datasets (str, list[str] or None): dataset names (comma-separated string or list);
            the profile's when ``None``.
        synthesizers (str, list[str] or None): registered synthesizer names; the profile's
            when ``None`` (its multi-table synthesizers for multi-table datasets).
        profile (str): ``'quick'``, ``'full'`` or ``'smoke'``.
        data_dir (str, Path or None): a folder laid out like ``shared/data``; when it is
            missing, the bundled Adult table is used (and the results say so).
        output (str, Path or None): results folder (created); nothing is written when ``None``.
        device (str): ``'cpu'`` or ``'cuda'``.
        seed (int): seed of the split, subsamples, synthesizers and metrics.
        max_rows (int or None): subsample single tables to this many rows; the profile's when
            ``None``; 0 for all rows.
        llm_params (dict or None): parameters of this project's synthesizers, over the
            profile's.
        peers_python (str or None): interpreter of the peers' environment.
        split (bool): ``False`` fits on whole tables (no holdout metrics).
        update_benchmarks (bool or None): rewrite the generated section of
            ``benchmarks_file``; the profile's default when ``None``.
        benchmarks_file (str or Path): the ``BENCHMARKS.md`` to update.
        plots (bool): write the PNG plots.
        peer_timeout (float or None): seconds a peer may run.
        verbose (bool): progress bar and notes on stderr.
        resume (bool): continue an interrupted run in ``output``: every (dataset,
            synthesizer) already recorded there without an error is kept (its row, and its
            sampled table for the plots) and not run again; failed ones run again. A run
            that takes longer than one sitting (the ``full`` profile on a CPU) is finished
            this way.
        tables (str, list[str] or None): multi-table datasets keep only these tables (and
            the relationships among them); ``'all'`` keeps every table; ``None`` the
            dataset's configured tables (see ``benchmark.datasets.DATASETS``).
        privacy_audits (bool or None): score the privacy audits of single tables too
            (:func:`score_privacy_audits`: exact copies, DCRBaselineProtection, membership
            inference, anonymeter); the profile's setting when ``None`` (on in ``privacy``).

    Returns:
        pandas.DataFrame: one row per (dataset, synthesizer), every metric and the
        environment.

    Raises:
        ValueError: when ``resume`` is set and the run recorded in ``output`` was made with
            other settings (named), or ``resume`` is set without ``output``.
    """
    profile = get_profile(profile)
    max_rows = profile.max_rows if max_rows is None else (max_rows or None)
    privacy_audits = profile.privacy_audits if privacy_audits is None else bool(privacy_audits)
    config = {'profile': profile.name, 'datasets': _names(datasets),
              'synthesizers': _names(synthesizers), 'data_dir': str(data_dir or DEFAULT_DATA_DIR),
              'device': device, 'seed': seed, 'max_rows': max_rows, 'llm_params': llm_params,
              'split': split, 'tables': tables, 'evaluation_rows': profile.evaluation_rows,
              'profile_params': profile.params, 'privacy_audits': privacy_audits,
              'started': time.strftime('%Y-%m-%d %H:%M:%S')}
    notes = []
    output = Path(output) if output else None
    done = _finished_runs(output, config) if resume else {}
    plan = _plan(datasets, profile, data_dir, max_rows, seed, split, notes, tables)
    env = environment(seed)
    rows, samples = [], {}
    if output:
        output.mkdir(parents=True, exist_ok=True)
        (output / 'config.json').write_text(json.dumps(config, indent=2, default=str))
    bar = tqdm(total=None, disable=not verbose, desc='benchmark')
    for dataset_name, load in plan:
        try:
            dataset = load()
        except Exception as error:  # noqa: BLE001  recorded, the other datasets go on
            rows.append({'dataset': dataset_name, 'synthesizer': None,
                         'error': f'{type(error).__name__}: {error}', **env})
            continue
        dataset_name = dataset.name   # a multi-table subset is named NAME[t1,t2]
        names = _names(synthesizers) or (profile.multi_table_synthesizers
                                         if dataset.multi_table else profile.synthesizers)
        names = [n for n in names if n in SYNTHESIZERS and
                 (SYNTHESIZERS[n].kind == 'multi') == dataset.multi_table] + \
            [n for n in names if n not in SYNTHESIZERS]
        bar.total = (bar.total or 0) + len(names)
        for name in names:
            bar.set_description(f'{dataset_name} / {name}')
            resumed = (dataset_name, name) in done
            if resumed:
                row = done[(dataset_name, name)]
                synthetic = _load_sample(output, dataset_name, name)
            elif name not in SYNTHESIZERS:
                row, synthetic = {'dataset': dataset_name, 'synthesizer': name,
                                  'error': f'KeyError: unknown synthesizer {name!r}'}, None
            else:
                params = dict(profile.params.get(name, {}))
                if SYNTHESIZERS[name].ours:
                    params.update(llm_params or {})
                row, synthetic = run_one(dataset, name, params, device, seed, peers_python,
                                         profile.evaluation_rows, peer_timeout, privacy_audits,
                                         profile.privacy_attacks)
            if not resumed:
                row.update({'profile': profile.name, 'data_source': dataset.source, **env})
            rows.append(row)
            if synthetic is not None and not dataset.multi_table:
                samples.setdefault(dataset_name, (dataset, {}))[1][name] = synthetic
            bar.update(1)
            if output and not resumed:
                _write_table(rows, output)
                if synthetic is not None:
                    _save_sample(output, dataset_name, name, synthetic)
    bar.close()
    results = pd.DataFrame(rows)
    config['finished'] = time.strftime('%Y-%m-%d %H:%M:%S')
    config['notes'] = notes
    for note in notes:
        if verbose:
            print(note)
        else:
            LOGGER.warning(note)
    if output:
        _write_outputs(results, samples, config, env, output, plots)
    update = profile.update_benchmarks if update_benchmarks is None else update_benchmarks
    if update:
        from sdv_llm.benchmark.report import update_benchmarks_file

        if Path(benchmarks_file).exists():
            update_benchmarks_file(benchmarks_file, results, config, env)
        else:
            LOGGER.warning('%s not found: not updated.', benchmarks_file)
    return results


#: Settings that must match for a run to be resumed: the same run, continued.
_RESUME_KEYS = ('profile', 'data_dir', 'device', 'seed', 'max_rows', 'llm_params', 'split',
                'tables', 'evaluation_rows', 'profile_params', 'privacy_audits')
#: The value of a setting in a run recorded before the setting existed.
_RESUME_DEFAULTS = {'privacy_audits': False}


def _finished_runs(output, config):
    """The rows of a run recorded in ``output`` that finished without an error.

    Returns:
        dict[tuple[str, str], dict]: row by ``(dataset, synthesizer)``; empty when ``output``
        holds no run yet.

    Raises:
        ValueError: without ``output``, or when the recorded run's settings differ.
    """
    if output is None:
        raise ValueError('resume=True needs an output folder to resume from.')
    if not (output / 'results.json').exists() or not (output / 'config.json').exists():
        return {}
    recorded = json.loads((output / 'config.json').read_text())
    current = json.loads(json.dumps(config, default=str))
    recorded = {k: recorded.get(k, _RESUME_DEFAULTS.get(k)) for k in _RESUME_KEYS}
    differ = [k for k in _RESUME_KEYS if recorded[k] != current.get(k)]
    if differ:
        raise ValueError(
            f'Cannot resume the run in {output}: it was made with other settings '
            f'({", ".join(f"{k}={recorded.get(k)!r}, now {current.get(k)!r}" for k in differ)}).'
            ' Use another output folder, or the same settings.')
    rows = json.loads((output / 'results.json').read_text())
    return {(r['dataset'], r['synthesizer']): r for r in rows
            if r.get('synthesizer') and not r.get('error')}


def _sample_path(output, dataset_name, name):
    return output / 'samples' / f'{dataset_name}__{name}.pkl'


def _save_sample(output, dataset_name, name, synthetic):
    """Keep a sampled table (pickled: dtypes kept) so a resumed run can plot it."""
    path = _sample_path(output, dataset_name, name)
    path.parent.mkdir(exist_ok=True)
    pd.to_pickle(synthetic, path)


def _load_sample(output, dataset_name, name):
    path = _sample_path(output, dataset_name, name)
    return pd.read_pickle(path) if path.exists() else None


def _write_table(rows, output):
    results = pd.DataFrame(rows)
    results.to_csv(output / 'results.csv', index=False)
    results.to_json(output / 'results.json', orient='records', indent=2, double_precision=15)


def _write_outputs(results, samples, config, env, output, plots):
    from sdv_llm.benchmark.report import render_markdown

    _write_table(results.to_dict('records'), output)
    (output / 'config.json').write_text(json.dumps(config, indent=2, default=str))
    (output / 'results.md').write_text(render_markdown(results, config, env))
    if plots:
        from sdv_llm.benchmark import plots as plotting

        try:
            plotting.quality_vs_fit_time(results, output / 'quality_vs_fit_time.png')
            plotting.quality_vs_epsilon(results, output / 'quality_vs_epsilon.png')
            for name, (dataset, synthetic) in samples.items():
                plotting.marginals(dataset, synthetic, output / f'marginals_{name}.png')
        except Exception as error:  # noqa: BLE001  plots are a convenience; keep the numbers
            LOGGER.warning('plots failed: %s', error)
