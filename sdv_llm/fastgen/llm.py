"""The paper's method: a language model proposes each field's kind and distribution.

FASTGEN (arXiv 2507.15839) prompts a language model with a field's name and statistics and
reads back its distribution. Here the prompt holds the column name, its sdtype and summary
statistics, and the answer is a JSON spec decoded under a grammar (a regular expression of
the valid kinds, families and parameter lists, compiled against the tokenizer's vocabulary by
outlines-core, as the text serializations are), so it always parses. The proposal is then
checked against the data: a kind the values contradict is replaced by the data's, a family's
parameters are refitted by maximum likelihood when their count is wrong or the fit is poor
(Kolmogorov-Smirnov distance above ``families.ks_limit``), and a family that still misfits
gives way to the empirical quantile function.
"""

import json

import numpy as np

from sdv_llm.fastgen.families import (
    EMPIRICAL,
    FAMILIES,
    POINT_MASS,
    Choice,
    ks_distance,
    ks_limit,
)

_NUMBER = r'-?(0|[1-9][0-9]{0,9})(\.[0-9]{1,6})?'
_FAMILY_NAMES = '|'.join(list(FAMILIES) + [EMPIRICAL])


def answer_regex(sdtype):
    """The grammar of an answer for a column of ``sdtype``.

    Numbers and datetimes: ``{"kind": "numerical"|"categorical", "family": <family>,
    "params": [<up to 4 numbers>]}``; categoricals, booleans, ordinals:
    ``{"kind": "categorical"|"text"}``; anything else (PII, text): ``{"kind": "text"}``.

    Returns:
        str: a regular expression.
    """
    if sdtype in ('numerical', 'datetime'):
        numbers = f'({_NUMBER}(, {_NUMBER}){{0,3}})?'
        return (r'\{"kind": "(numerical|categorical)", "family": "(' + _FAMILY_NAMES
                + r')", "params": \[' + numbers + r'\]\}')
    if sdtype in ('categorical', 'boolean', 'ordinal'):
        return r'\{"kind": "(categorical|text)"\}'
    return r'\{"kind": "text"\}'


def summary(column, column_metadata, values):
    """The prompt for one column: name, sdtype and summary statistics.

    Returns:
        str
    """
    from sdv_llm.fastgen.fields import field_numbers

    sdtype = column_metadata.get('sdtype')
    lines = [f'Column: {column}', f'sdtype: {sdtype}', f'rows: {len(values)}',
             f'missing: {values.isna().mean():.3f}', f'distinct: {values.nunique()}']
    if sdtype in ('numerical', 'datetime'):
        numbers = field_numbers(column_metadata, values)[0].dropna()
        if len(numbers):
            quantiles = np.quantile(numbers, [0.01, 0.25, 0.5, 0.75, 0.99])
            lines += [f'min: {numbers.min():.6g}', f'max: {numbers.max():.6g}',
                      f'mean: {numbers.mean():.6g}', f'std: {numbers.std():.6g}',
                      'quantiles 1/25/50/75/99%: ' + ', '.join(f'{q:.6g}' for q in quantiles)]
    else:
        top = values.astype(str).value_counts().head(5)
        lines.append('most frequent: ' + ', '.join(f'{k} ({v})' for k, v in top.items()))
    lines.append('Distribution as JSON:')
    return '\n'.join(lines) + ' '


class ConstrainedGenerator:
    """Greedy decoding of a local causal LM under a regular expression.

    Args:
        backbone (str): the local directory of a Hugging Face causal LM.
        max_new_tokens (int): most tokens of an answer.

    Raises:
        ValueError: the directory is not a causal LM with a tokenizer.
    """

    def __init__(self, backbone, max_new_tokens=96):
        import torch
        from transformers import AutoModelForCausalLM

        from sdv_llm.decoding.text_automaton import outlines_vocabulary
        from sdv_llm.model.pretrained import load_config, load_tokenizer

        load_config(backbone)
        self.tokenizer = load_tokenizer(backbone)
        self.model = AutoModelForCausalLM.from_pretrained(backbone, local_files_only=True)
        self.model.eval()
        self.vocabulary = outlines_vocabulary(self.tokenizer)
        self.max_new_tokens = max_new_tokens
        self._torch = torch
        self._indexes = {}

    def generate(self, prompt, regex):
        """The most likely answer to ``prompt`` in the language of ``regex`` (greedy).

        Returns:
            str: a string that matches ``regex``.

        Raises:
            ValueError: no complete answer within ``max_new_tokens`` tokens.
        """
        from outlines_core import Index

        torch = self._torch
        index = self._indexes.get(regex)
        if index is None:
            index = self._indexes[regex] = Index(regex, self.vocabulary)
        eos = self.vocabulary.get_eos_token_id()
        state = index.get_initial_state()
        ids = self.tokenizer(prompt, return_tensors='pt')['input_ids']
        answer, past = [], None
        with torch.no_grad():
            for _ in range(self.max_new_tokens):
                if index.is_final_state(state):
                    break
                output = self.model(input_ids=ids, past_key_values=past, use_cache=True)
                past = output.past_key_values
                logits = output.logits[0, -1]
                allowed = [t for t in index.get_allowed_tokens(state) if t != eos]
                token = allowed[int(torch.argmax(logits[allowed]))]
                answer.append(token)
                state = index.get_next_state(state, token)
                ids = torch.tensor([[token]])
        if not index.is_final_state(state):
            raise ValueError(f'No complete answer within {self.max_new_tokens} tokens.')
        return self.tokenizer.decode(answer)


def check_choice(answer, values):
    """The LLM's numerical proposal, checked against the values and refined where it misfits.

    Args:
        answer (dict): the parsed answer (``family``, ``params``).
        values (numpy.ndarray): float ``(n,)`` of the field's non-missing values.

    Returns:
        families.Choice: source ``'llm'`` (kept as proposed) or ``'llm-refined'``.
    """
    family = answer.get('family', EMPIRICAL)
    params = [float(p) for p in answer.get('params', [])]
    _, counts = np.unique(values, return_counts=True)
    if family == EMPIRICAL:
        return Choice(EMPIRICAL, [], {}, 'llm')
    if counts.max() >= POINT_MASS * len(values):  # point masses: no continuous family fits
        return Choice(EMPIRICAL, [], {}, 'llm-refined')
    distribution, _ = FAMILIES[family]
    expected = distribution.numargs + 2
    limit = ks_limit(len(values))
    if len(params) == expected and ks_distance(values, Choice(family, params, {})) <= limit:
        return Choice(family, params, {}, 'llm')
    try:
        with np.errstate(all='ignore'):
            fitted = [float(p) for p in distribution.fit(values[:5000])]
    except (ValueError, RuntimeError):
        return Choice(EMPIRICAL, [], {}, 'llm-refined')
    if ks_distance(values, Choice(family, fitted, {})) <= limit:
        return Choice(family, fitted, {}, 'llm-refined')
    return Choice(EMPIRICAL, [], {}, 'llm-refined')


def propose(backbone, data, columns_metadata, generator=None):
    """Ask the language model for every column's kind and distribution.

    Args:
        backbone (str): the local directory of a Hugging Face causal LM.
        data (pandas.DataFrame): the training table.
        columns_metadata (dict): ``{column: metadata}``.
        generator (ConstrainedGenerator or None): reuse a loaded model.

    Returns:
        dict: ``{column: answer}``: the parsed JSON answers (``kind``, and ``family`` and
        ``params`` for numbers).
    """
    generator = generator or ConstrainedGenerator(backbone)
    answers = {}
    for column in data.columns:
        column_metadata = columns_metadata.get(column, {})
        text = generator.generate(summary(column, column_metadata, data[column]),
                                  answer_regex(column_metadata.get('sdtype')))
        answers[column] = json.loads(text)
    return answers
