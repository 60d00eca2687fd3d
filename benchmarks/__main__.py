"""``python -m benchmarks ...``: the ``sdv-llm benchmark`` command from a checkout."""

import sys

from sdv_llm.cli import main

if __name__ == '__main__':
    sys.exit(main(['benchmark', *sys.argv[1:]]))
