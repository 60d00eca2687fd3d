"""Where the benchmark scripts put their numbers: printed, and written as JSON beside the machine."""

import json
from pathlib import Path

from sdv_llm.benchmark.runner import environment

#: The machine fields every report carries.
MACHINE_FIELDS = ('cpu', 'cores', 'platform', 'python', 'torch_threads', 'gpu')


def machine():
    """The machine a report was measured on (``MACHINE_FIELDS`` of the harness's environment)."""
    return {k: v for k, v in environment().items() if k in MACHINE_FIELDS}


def write_report(report, output=None):
    """Print ``report`` as indented JSON and write it to ``output`` (folders made) when given.

    Returns:
        int: 0, the scripts' exit status.
    """
    text = json.dumps(report, indent=2, default=float)
    print(text)
    if output:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(text + '\n')
    return 0
