"""Benchmark plots as PNG files (matplotlib, Agg backend): quality against fit time, quality
against the DP budget, marginals."""

import math

import numpy as np

from sdv_llm.evaluation.columns import (
    NUMERIC_SDTYPES,
    as_labels,
    as_numbers,
    modelled_columns,
)


def _pyplot():
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    return plt


def quality_vs_fit_time(results, path):
    """One panel per dataset: SDMetrics quality (y) against fit seconds (x, log scale).

    Args:
        results (pandas.DataFrame): rows of :func:`sdv_llm.benchmark.run`.
        path (str or Path): the PNG file to write.

    Returns:
        Path or None: ``path``, or ``None`` when no row has both numbers.
    """
    plt = _pyplot()
    if 'quality' not in results or 'fit_seconds' not in results:
        return None
    done = results.dropna(subset=['quality', 'fit_seconds'])
    datasets = list(dict.fromkeys(done['dataset']))
    if not datasets:
        return None
    columns = min(3, len(datasets))
    rows = math.ceil(len(datasets) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(5 * columns, 4 * rows), squeeze=False)
    for axis, dataset in zip(axes.flat, datasets):
        group = done[done['dataset'] == dataset]
        for _, row in group.iterrows():
            axis.scatter(row['fit_seconds'], row['quality'], s=40)
            axis.annotate(row['synthesizer'], (row['fit_seconds'], row['quality']), fontsize=8,
                          xytext=(4, 4), textcoords='offset points')
        axis.set_xscale('log')
        axis.set_xlabel('fit time (s, log scale)')
        axis.set_ylabel('SDMetrics quality')
        axis.set_title(dataset)
        axis.grid(alpha=0.3)
    for axis in list(axes.flat)[len(datasets):]:
        axis.set_visible(False)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path


def dp_variants(results):
    """The rows of differentially private variants, by their registered names.

    A name ``<base>-dp<epsilon>`` (``LLMSynthesizer-dp3``, ``TabularARGN-dp1``) is the
    variant of ``<base>`` at that epsilon.

    Args:
        results (pandas.DataFrame): rows of :func:`sdv_llm.benchmark.run`.

    Returns:
        pandas.DataFrame: the rows with a quality, with ``base`` (str) and ``epsilon``
        (float; ``inf`` for the bases' own rows, run without DP) added; empty without any
        ``-dp`` row.
    """
    import pandas as pd

    done = results.dropna(subset=['quality']) if 'quality' in results else results.iloc[:0]
    parsed = done['synthesizer'].astype(str).str.extract(r'^(?P<base>.+)-dp(?P<eps>[0-9.]+)$')
    bases = set(parsed['base'].dropna())
    rows = done.assign(base=parsed['base'], epsilon=pd.to_numeric(parsed['eps']))
    plain = done['synthesizer'].isin(bases)
    rows.loc[plain, 'base'] = done.loc[plain, 'synthesizer']
    rows.loc[plain, 'epsilon'] = float('inf')
    return rows[rows['base'].notna()].reset_index(drop=True)


def quality_vs_epsilon(results, path):
    """One panel per dataset: SDMetrics quality (y) against the DP budget epsilon (x, log
    scale), one line per synthesizer, its run without DP as a dashed line.

    Args:
        results (pandas.DataFrame): rows of :func:`sdv_llm.benchmark.run`.
        path (str or Path): the PNG file to write.

    Returns:
        Path or None: ``path``, or ``None`` when no DP variant has a quality.
    """
    rows = dp_variants(results)
    private = rows[np.isfinite(rows['epsilon'])] if len(rows) else rows
    if not len(private):
        return None
    plt = _pyplot()
    datasets = list(dict.fromkeys(private['dataset']))
    figure, axes = plt.subplots(1, len(datasets), figsize=(5 * len(datasets), 4), squeeze=False)
    for axis, dataset in zip(axes.flat, datasets):
        group = rows[rows['dataset'] == dataset]
        for index, (base, lines) in enumerate(group.groupby('base', sort=True)):
            color = f'C{index}'
            dp = lines[np.isfinite(lines['epsilon'])].sort_values('epsilon')
            axis.plot(dp['epsilon'], dp['quality'], marker='o', color=color, label=base)
            plain = lines[~np.isfinite(lines['epsilon'])]
            if len(plain):
                axis.axhline(float(plain['quality'].iloc[0]), color=color, linestyle='--',
                             label=f'{base} (no DP)')
        axis.set_xscale('log')
        axis.set_xlabel('epsilon (delta 1e-5, log scale)')
        axis.set_ylabel('SDMetrics quality')
        axis.set_title(dataset)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path


def _pick_columns(sdtypes, count):
    numeric = [c for c, s in sdtypes.items() if s in NUMERIC_SDTYPES]
    other = [c for c, s in sdtypes.items() if s not in NUMERIC_SDTYPES]
    half = count // 2
    picked = numeric[:half] + other[:count - min(half, len(numeric))]
    return (picked + numeric[half:])[:count]


def marginals(dataset, synthetic, path, columns=4, top=8):
    """Real (train) against synthetic marginals of a few columns, one line per synthesizer.

    Numerical columns: histograms (as step lines) on 30 bins of the real values' range;
    other columns: frequencies of the real data's ``top`` most common values.

    Args:
        dataset (Dataset): the real data.
        synthetic (dict[str, pandas.DataFrame]): sampled rows by synthesizer name.
        path (str or Path): the PNG file to write.
        columns (int): how many columns to plot (half numerical where possible).
        top (int): categories shown per categorical column.

    Returns:
        Path: ``path``.
    """
    plt = _pyplot()
    sdtypes = modelled_columns(dataset.metadata, dataset.name)
    chosen = _pick_columns(sdtypes, columns)
    figure, axes = plt.subplots(1, len(chosen), figsize=(4.5 * len(chosen), 3.6), squeeze=False)
    tables = {'real (train)': dataset.train, **synthetic}
    for axis, column in zip(axes.flat, chosen):
        if sdtypes[column] in NUMERIC_SDTYPES:
            real = as_numbers(dataset.train[column], sdtypes[column])
            real = real[~np.isnan(real)]
            edges = np.linspace(real.min(), real.max(), 31) if len(real) else 30
            for name, table in tables.items():
                values = as_numbers(table[column], sdtypes[column])
                axis.hist(values[~np.isnan(values)], bins=edges, density=True,
                          histtype='step', linewidth=2 if name == 'real (train)' else 1,
                          label=name)
        else:
            categories = as_labels(dataset.train[column]).value_counts().index[:top]
            width = 0.8 / len(tables)
            positions = np.arange(len(categories))
            for i, (name, table) in enumerate(tables.items()):
                shares = as_labels(table[column]).value_counts(normalize=True)
                axis.bar(positions + i * width, shares.reindex(categories).fillna(0), width,
                         label=name)
            axis.set_xticks(positions + 0.4 - width / 2)
            axis.set_xticklabels([str(c)[:12] for c in categories], rotation=45, ha='right',
                                 fontsize=7)
        axis.set_title(column)
    axes.flat[0].legend(fontsize=7)
    figure.suptitle(f'{dataset.name}: real vs synthetic marginals')
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)
    return path


__all__ = ['marginals', 'quality_vs_fit_time']
