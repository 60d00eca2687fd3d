"""Render result JSON files as Markdown: ``python -m benchmarks.report FILE.json...``.

A thin wrapper of ``sdv_llm.benchmark.report.main``.
"""

from sdv_llm.benchmark.report import main

if __name__ == '__main__':
    main()
