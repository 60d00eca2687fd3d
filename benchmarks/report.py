"""Render benchmark result JSON files as Markdown tables with ratios to the baselines.

Usage: ``python -m benchmarks.report benchmarks/results/adult_full.json``
"""

import json
import sys

COLUMNS = (('quality', 'quality', '{:.3f}'), ('column_shapes', 'shapes', '{:.3f}'),
           ('column_pair_trends', 'pair trends', '{:.3f}'),
           ('quality_all_pairs', 'quality (all pairs)', '{:.3f}'),
           ('diagnostic', 'diagnostic', '{:.3f}'), ('invalid_rows', 'invalid rows', '{:d}'),
           ('fit_seconds', 'fit s', '{:.0f}'), ('rows_per_second', 'sampling rows/s', '{:,.0f}'))


def render(results, reference='LLMSynthesizer'):
    """Markdown: one table of metrics, then the reference's ratios to each other synthesizer.

    Args:
        results (list[dict]): rows written by ``benchmarks.single_table``.
        reference (str): the synthesizer the ratios are about.

    Returns:
        str
    """
    lines = []
    for dataset in dict.fromkeys(r['dataset'] for r in results):
        rows = [r for r in results if r['dataset'] == dataset]
        lines.append(f'### {dataset} ({rows[0]["rows"]:,} training rows)\n')
        lines.append('| synthesizer | ' + ' | '.join(title for _, title, _ in COLUMNS) + ' |')
        lines.append('|---' * (len(COLUMNS) + 1) + '|')
        for row in rows:
            cells = [fmt.format(row[key]) for key, _, fmt in COLUMNS]
            lines.append(f"| {row['synthesizer']} | " + ' | '.join(cells) + ' |')
        ours = next((r for r in rows if r['synthesizer'] == reference), None)
        others = [r for r in rows if r['synthesizer'] != reference]
        if ours and others:
            lines.append(f'\n{reference} against each baseline of the same run:\n')
            lines.append('| baseline | quality difference | fit time ratio | sampling speed '
                         'ratio |')
            lines.append('|---|---|---|---|')
            for row in others:
                lines.append(
                    f"| {row['synthesizer']} | {ours['quality'] - row['quality']:+.3f} | "
                    f"{ours['fit_seconds'] / row['fit_seconds']:.2f}x | "
                    f"{ours['rows_per_second'] / row['rows_per_second']:.2f}x |")
        lines.append('')
    return '\n'.join(lines)


def main(paths):
    results = []
    for path in paths:
        with open(path) as handle:
            results.extend(json.load(handle))
    print(render(results))


if __name__ == '__main__':
    main(sys.argv[1:])
