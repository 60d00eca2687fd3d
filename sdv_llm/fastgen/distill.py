"""A fitted synthesizer distilled into a FASTGEN script: fit FastGen to its own samples."""

from sdv.errors import NotFittedError

#: Rows sampled from the synthesizer to fit the script, unless said otherwise.
DISTILL_ROWS = 20_000


def distill(synthesizer, num_rows=DISTILL_ROWS, dependencies='copula', random_state=0):
    """A FastGenSynthesizer fitted to ``num_rows`` rows sampled from ``synthesizer``.

    The script it exports samples what the synthesizer learned (its marginals, a copula of its
    dependencies and the exact functional dependencies of its samples) with no model, at numpy
    speed; what a copula cannot hold (higher-order interactions) is lost.

    Args:
        synthesizer: a fitted SDV single-table synthesizer (``LLMSynthesizer`` or any other).
        num_rows (int): rows to sample and fit on, ``>= 1``.
        dependencies (str): ``'copula'`` or ``'none'``.
        random_state (int): seed of the FastGen fit.

    Returns:
        sdv_llm.fastgen.synthesizer.FastGenSynthesizer: fitted.

    Raises:
        sdv.errors.NotFittedError: ``synthesizer`` is not fitted.
        ValueError: ``num_rows`` is not a positive int.
    """
    from sdv_llm.fastgen.synthesizer import FastGenSynthesizer

    if not getattr(synthesizer, '_fitted', False):
        raise NotFittedError('Fit the synthesizer before distilling it into a script.')
    if not isinstance(num_rows, int) or isinstance(num_rows, bool) or num_rows < 1:
        raise ValueError(f'num_rows must be a positive int, not {num_rows!r}.')
    samples = synthesizer.sample(num_rows)
    table_name = synthesizer.metadata._get_single_table_name()
    student = FastGenSynthesizer(synthesizer.metadata, dependencies=dependencies,
                                 random_state=random_state)
    student.fit({table_name: next(iter(samples.values())) if isinstance(samples, dict)
                 else samples})
    student._source = f'{num_rows:,} rows sampled from a fitted {type(synthesizer).__name__}'
    return student
