"""Limits shared by the column codecs."""

from dataclasses import dataclass


@dataclass(frozen=True)
class CodecOptions:
    """Limits that decide how columns are tokenized.

    Attributes:
        max_categories (int): a categorical column with more distinct values than this is
            written character by character (constrained to the known values) instead of one
            token per value. Default 1000.
        max_discrete_values (int): a numerical column with at most this many distinct training
            values gets one token per value (other values still have a digit path). Default 200.
        max_significant_digits (int or None): numbers keep at most this many digits beyond
            their integer part (rounded, with a warning naming the column); ``None`` keeps
            every decimal place of the column. Default None.
        max_text_length (int): longest string, in characters, a character codec writes.
            Longer training values raise ``ValueError``. Default 256.
        max_bins (int): quantile bins of a continuous numerical column. Default 100.
        max_sub_bins (int or None): sub-bins per quantile bin; ``None`` gives about one per
            20 training values of a bin, at most 100 (``METADATA_SUB_BINS`` for codecs fitted
            from the metadata only). Default None.
        metadata_only (bool): fit every codec from its column's metadata alone, never from the
            training values (``ColumnCodec.fit_metadata``), as differential privacy requires:
            value sets, ranges, decimal places, bins and nullability then reveal nothing of
            the rows. Default False.
    """

    max_categories: int = 1000
    max_discrete_values: int = 200
    max_significant_digits: int = None
    max_text_length: int = 256
    max_bins: int = 100
    max_sub_bins: int = None
    metadata_only: bool = False


METADATA_SUB_BINS = 10
"""Sub-bins per bin of a binned number fitted from the metadata (equal-width bins over
``[range_min, range_max]``; no training values to size them by)."""
