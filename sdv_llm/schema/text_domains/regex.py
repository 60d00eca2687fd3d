"""Regex literals and alternations understood by both Python's ``re`` and outlines-core."""

_REGEX_SPECIAL = set('\\.^$*+?{}[]|()-#&~/"\'')


def regex_escape(text):
    """``text`` as a regex literal understood by both Python's ``re`` and outlines-core."""
    out = []
    for char in text:
        if char == '\n':
            out.append('\\n')
        elif char == '\r':
            out.append('\\r')
        elif char == '\t':
            out.append('\\t')
        elif char in _REGEX_SPECIAL:
            out.append('\\' + char)
        else:
            out.append(char)
    return ''.join(out)


def alternation(patterns):
    """``(?:a|b|...)`` of regexes (a never-matching class when empty)."""
    patterns = list(dict.fromkeys(patterns))
    if not patterns:
        raise ValueError('An empty set of values has no pattern.')
    return patterns[0] if len(patterns) == 1 else '(' + '|'.join(patterns) + ')'
