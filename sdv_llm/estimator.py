"""TabularLLM: a scikit-learn style front end over the same core as LLMSynthesizer."""

from sklearn.base import BaseEstimator

from sdv_llm.parameters import docstring_section, store_parameters, validate_parameters


class TabularLLM(BaseEstimator):
    """Fit a tabular language model on a DataFrame and sample DataFrames, scikit-learn style.

    ``__init__`` only stores its arguments, so ``get_params``, ``set_params`` and
    ``sklearn.base.clone`` work; ``fit`` validates them, detects SDV metadata when none is given
    and fits an ``LLMSynthesizer`` with the same parameters (see its documentation). The
    parameters are those of ``sdv_llm.parameters.PARAMETERS``, in the same order.

    Args:
{parameters}

    Attributes:
        synthesizer_ (LLMSynthesizer): the fitted synthesizer.
        metadata_ (sdv.metadata.Metadata): the metadata used.
    """

    # The signature is explicit for get_params and IDEs; tests/test_parameters.py checks that
    # it lists PARAMETERS with their defaults. Keyword-only, as scikit-learn recommends.
    def __init__(self, *, enforce_min_max_values=True, enforce_rounding=True,
                 locales=['en_US'], epochs=None, batch_size=None, learning_rate=3e-3,  # noqa: B006 (as SDV)
                 embedding_dim=None, num_layers=None, num_heads=None, dropout=None,
                 validation_fraction=0.1, patience=3, column_order='fd',
                 conditional_fraction=0.2, max_categories=1000,
                 max_discrete_values=200, max_significant_digits=None, temperature=1.0, top_p=1.0,
                 sample_batch_size=4096, sample_processes=None, precision='auto',
                 merge_sub_tokens=False, enable_gpu=True, verbose=False, random_state=None,
                 backbone='default', serialization=None, lora=None, merge_adapter=False,
                 gradient_checkpointing=False, text_preamble=False, mixed_training='auto',
                 critic_filter='auto', reward_finetuning=None, differential_privacy=None,
                 privacy=None):
        store_parameters(self, locals())

    def fit(self, X, y=None, metadata=None, table_name='table', checkpoint_dir=None):
        """Fit on a DataFrame.

        Args:
            X (pandas.DataFrame): the training table.
            y: ignored (scikit-learn convention).
            metadata (sdv.metadata.Metadata or None): detected from ``X`` when ``None``
                (not with ``differential_privacy``: detected ranges and value sets are the
                data's own).
            table_name (str): table name used when detecting metadata.
            checkpoint_dir (str or pathlib.Path or None): write a checkpoint there after every
                epoch and resume from the one found there (``LLMSynthesizer.fit``).

        Returns:
            TabularLLM: ``self``.

        Raises:
            sdv.errors.SynthesizerInputError: an invalid parameter; ``differential_privacy``
                without ``metadata``.
            sdv.errors.InvalidDataError: data that does not fit the metadata.
        """
        from sdv.metadata import Metadata

        from sdv_llm.single_table import LLMSynthesizer

        params = self.get_params()
        validate_parameters(params)
        if metadata is None and params.get('differential_privacy') is not None:
            from sdv.errors import SynthesizerInputError

            raise SynthesizerInputError(
                'differential_privacy needs the metadata given to fit(X, metadata=...): '
                'metadata detected from X would carry its ranges and category values, '
                'learned from the rows outside the privacy guarantee.')
        if metadata is None:
            metadata = Metadata.detect_from_dataframes({table_name: X})
        self.metadata_ = metadata
        self.synthesizer_ = LLMSynthesizer(metadata, **params)
        self.synthesizer_.fit({metadata._get_single_table_name(): X},
                              checkpoint_dir=checkpoint_dir)
        return self

    def get_privacy_info(self):
        """What the ``privacy`` protections did (``LLMSynthesizer.get_privacy_info``).

        Returns:
            dict

        Raises:
            sklearn.exceptions.NotFittedError: before ``fit``.
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, 'synthesizer_')
        return self.synthesizer_.get_privacy_info()

    def sample(self, n):
        """Sample ``n`` rows.

        Args:
            n (int): rows.

        Returns:
            pandas.DataFrame: exactly ``n`` rows with the columns of ``X``.
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, 'synthesizer_')
        return next(iter(self.synthesizer_.sample(num_rows=n).values()))


if TabularLLM.__doc__:  # None under python -OO
    TabularLLM.__doc__ = TabularLLM.__doc__.replace('{parameters}', docstring_section())
