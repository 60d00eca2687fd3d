"""Writing a fitted spec as one standalone Python file (numpy and pandas only).

The file is: a header (source table, date, columns, the command that made it), the sampling
runtime (the source of ``sdv_llm.fastgen.runtime``, verbatim), the spec as a JSON literal, and
a command line::

    python make_customers.py -n 1000000 --seed 0 -o customers.csv
"""

import datetime
import inspect
import json
import sys

from sdv_llm.fastgen import runtime

_MAIN = '''

SPEC = json.loads(r"""{spec}""")


def main(argv=None):
    """Write rows to a file (.csv, or .parquet with pyarrow), or print a preview."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('-n', '--num-rows', type=int, default=SPEC['training_rows'],
                        help='rows to write (default: as many as the training table)')
    parser.add_argument('--seed', type=int, default=None, help='seed (default: random)')
    parser.add_argument('-o', '--output', default=None,
                        help='.csv or .parquet file (default: print the first rows)')
    parser.add_argument('--chunk-rows', type=int, default=CHUNK_ROWS, help='rows per chunk')
    args = parser.parse_args(argv)
    if args.output is None:
        print(next(sample_table(SPEC, min(args.num_rows, 20), args.seed)).to_string())
        return
    write_table(SPEC, args.num_rows, args.output, args.seed, args.chunk_rows)


if __name__ == '__main__':
    main()
'''


def _header(spec, source, command):
    """The script's docstring."""
    fields = spec['fields']
    lines = [f"Synthetic rows of the table {spec['table']!r} (sdv_llm FASTGEN script).", '',
             (f'Made: {datetime.date.today().isoformat()} from {source}, '
              f"{spec['training_rows']} training rows; dependencies: {spec['dependencies']}."),
             f'Command: {command}', '', 'Columns (kind: distribution):']
    for column in spec['columns']:
        field = fields[column]
        detail = {'quantile': lambda f: f"{f['family']} quantile function, "
                                        f"[{f['min']:g}, {f['max']:g}]",
                  'discrete': lambda f: f"{len(f['values'])} values by frequency",
                  'text': lambda f: f"character Markov model of order {f['markov'][0]['order']}",
                  'id': lambda f: 'unique keys',
                  'lookup': lambda f: f"looked up from {f['determinant']}"}[field['kind']](field)
        lines.append(f'  {column}: {field["kind"]}: {detail}')
    lines += ['', 'Usage: python THIS_FILE.py -n 1000000 --seed 0 -o rows.csv',
              'Needs only numpy and pandas (pyarrow for .parquet). Edit SPEC to change it.']
    return '\n'.join(lines)


def script_text(spec, source='a table', command=None):
    """The standalone script for ``spec``.

    Args:
        spec (dict): a fitted spec (``FastGenModel.spec``).
        source (str): where the table came from (written in the header).
        command (str or None): the command that made the script; ``sys.argv`` by default.

    Returns:
        str: Python source.
    """
    command = command or ' '.join(sys.argv)
    body = inspect.getsource(runtime)
    body = body.split('"""', 2)[2].lstrip('\n')  # drop the module docstring
    # JSON never holds three unescaped quotes in a row, so the raw string cannot end early.
    spec_json = json.dumps(spec, indent=1, allow_nan=False)
    return ('"""' + _header(spec, source, command).replace('"""', "'''") + '\n"""\n\n'
            + 'import json\n' + body + _MAIN.replace('{spec}', spec_json))


def write_script(spec, path, source='a table', command=None):
    """Write the script to ``path`` (UTF-8).

    Returns:
        pathlib.Path: ``path``.
    """
    from pathlib import Path

    path = Path(path)
    path.write_text(script_text(spec, source, command), encoding='utf-8')
    return path
