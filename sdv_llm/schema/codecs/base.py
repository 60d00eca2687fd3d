"""The column codec interface: one column's values <-> a short sequence of local tokens."""

import datetime
import math

import numpy as np
import pandas as pd

from sdv_llm.schema.fragment import EXIT, Fragment, trie_fragment

NULL_TOKEN = '<null>'
RARE_TOKEN = '<rare>'
"""The local token every hidden (rare) value is written as in training; never sampled."""
NULL_KEY = '\x00'
PROTECTED_METADATA = ('range_values', 'range_min', 'range_max')
"""Column metadata keys a value-protected codec does not keep (they may hold the values it
hides, see ``sdv_llm.schema.protection``)."""
"""``canonical_keys`` of a missing value."""


def cell_key(value):
    """A string that equal values share and different ones do not (one cell of a row key).

    Numbers of any type are equal when their floats are (``1``, ``1.0``, ``np.int64(1)``);
    booleans, strings and timestamps keep their kind, so ``1``, ``'1'`` and ``True`` differ.

    Args:
        value: a present (not missing) value.

    Returns:
        str
    """
    if isinstance(value, (bool, np.bool_)):
        return f'b:{bool(value)}'
    if isinstance(value, (int, float, np.integer, np.floating)):
        return f'n:{float(value)!r}'
    if isinstance(value, (pd.Timestamp, np.datetime64, datetime.datetime)):
        return f't:{pd.Timestamp(value).value}'
    return f's:{value}'


def is_missing(value):
    """Whether one value is missing (None, NaN, NaT, pandas.NA)."""
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    try:
        return isinstance(value, (float, np.floating)) and math.isnan(value)
    except TypeError:
        return False


class ColumnCodec:
    """Base class of the column codecs.

    A codec is fitted on one column of the training data and its SDV column metadata. It owns a
    local token alphabet (``tokens``), encodes values to token ids of that alphabet, decodes them
    back, and describes the set of valid values as an automaton (``fragment``) that the row
    grammar is compiled from. Missing values get an explicit ``<null>`` token, the first local
    token, when the training column has missing values.

    Subclasses implement ``_fit``, ``_value_tokens``, ``_encode_values``, ``_decode_values``,
    ``_value_fragment`` and ``max_length``. A codec that applies value protection
    (``sdv_llm.schema.protection``) reads ``self._value_protection`` in ``_fit`` (``None``:
    none asked), records counts in ``self.protection``, and, when it writes hidden values as
    a ``<rare>`` token in training, sets ``rare_token`` and implements ``_visible_fragment``
    (its value automaton without that token). A codec whose training encoding is coarser than the
    values (quantile bins, whose last digits are drawn when decoding) sets ``random_decode``
    and implements ``_encode_values(values, exact)`` and ``_decode_values(tokens, rng)``;
    ``encode(values, exact=True)`` then writes the path that decodes to exactly ``values``.

    Args:
        column (str): the column name, used in error messages.
        metadata (dict): the column's SDV metadata (``sdtype`` and its keyword arguments).
        enforce_min_max_values (bool): restrict numbers and datetimes to ``[range_min, range_max]``.
        options (CodecOptions or None): limits shared by all codecs.
    """

    sdtypes = ()
    random_decode = False
    protection = None
    rare_token = False

    def __init__(self, column, metadata, enforce_min_max_values=True, options=None):
        from sdv_llm.schema.options import CodecOptions

        self.column = column
        self.metadata = dict(metadata)
        self.enforce_min_max_values = enforce_min_max_values
        self.options = options or CodecOptions()
        self.nullable = False
        self.only_null = False
        self.dtype = None
        self.protection = None
        self.rare_token = False

    # ----------------------------------------------------------------- public API
    def fit_metadata(self, dtype=None):
        """Learn the codec from the column's metadata alone; no training value is read.

        What differential privacy needs: the vocabulary, the value set, the range, the
        decimal places, the bins and whether ``<null>`` exists then come from the metadata
        (``range_values``, ``range_min``, ``range_max``, ``decimal_places``,
        ``datetime_format``, ``range_is_nullable``), not from the rows. The column is nullable
        unless its metadata says ``range_is_nullable: False`` or its dtype cannot hold a
        missing value (numpy integers and booleans: SDV casts sampled values back to it).

        Args:
            dtype (numpy.dtype or None): the training column's dtype (a schema fact: it says
                how values are written back, e.g. ``datetime64`` or strings).

        Returns:
            ColumnCodec: ``self``.

        Raises:
            ValueError: the metadata lacks a key the codec needs (the message names the
                column and the keys, see ``sdv_llm.schema.metadata_only``), or the codec
                cannot be fitted without data.
        """
        self.dtype = dtype
        self.nullable = bool(self.metadata.get('range_is_nullable', True)) and not (
            dtype is not None and getattr(dtype, 'kind', 'O') in 'iub')
        self.only_null = False
        self._fit_metadata()
        self.tokens = ([NULL_TOKEN] if self.nullable else []) + list(self._value_tokens())
        return self

    def _fit_metadata(self):
        """Fit from the metadata: by default on the declared ``range_values`` as if they were
        the training values (a codec whose value set is what it saw)."""
        from sdv_llm.schema.metadata_only import missing_message

        values = self.metadata.get('range_values')
        if values is None:
            raise ValueError(missing_message(self.column, self.metadata, ['range_values']))
        self._fit(pd.Series(list(values), dtype=object))

    def fit(self, values, protection=None):
        """Learn the value set, digits or alphabet from a column of training data.

        Args:
            values (pandas.Series): the training column, raw values, missing values as NaN.
            protection (ValueProtection or None): hide rare values and cut extreme ones
                (``sdv_llm.schema.protection``); codecs that do not support it ignore it.

        Returns:
            ColumnCodec: ``self``. After a protected fit, ``protection`` holds what was
            protected as counts (``hidden_categories``, ``hidden_rows``, ``clipped_low``,
            ``clipped_high``; ``unprotected`` when the column could not be protected), and
            ``rare_token`` whether hidden values are written as ``<rare>`` in training.
        """
        self.dtype = values.dtype
        null_mask = values.isna().to_numpy()
        self.nullable = bool(null_mask.any())
        self.only_null = bool(null_mask.all())
        self.protection = None
        self.rare_token = False
        self._value_protection = protection
        try:
            self._fit(values[~null_mask])
        finally:
            self.__dict__.pop('_value_protection', None)
        if self.protection is not None and not self.protection.get('unprotected'):
            # SDV's metadata detection writes every category and the range there: not kept
            self.metadata = {key: value for key, value in self.metadata.items()
                             if key not in PROTECTED_METADATA}
        self.tokens = ([NULL_TOKEN] if self.nullable else []) + list(self._value_tokens())
        return self

    def release_training_values(self):
        """Forget what only the training rows' encoding needed (the hidden values).

        Called once the training rows are encoded: from then on a hidden value is unknown to
        the codec (``encode`` and ``check_values`` raise for it), and nothing hidden is saved.
        """
        self.__dict__.pop('_hidden', None)

    @property
    def offset(self):
        """Local id of the first value token (1 when ``<null>`` is the first token)."""
        return int(self.nullable)

    def encode(self, values, exact=False):
        """Encode a column to local token ids.

        Args:
            values (pandas.Series): ``n`` raw values.
            exact (bool): write the path that decodes to exactly these values (conditions,
                dependencies); ``False`` writes the training path, which for a
                ``random_decode`` codec may decode to another value of the same sub-bin.

        Returns:
            numpy.ndarray: int64 array of shape ``(n, max_length)``; each row holds the tokens of
            one value followed by ``-1`` padding.

        Raises:
            ValueError: if a value is missing and the codec saw no missing values, or a value
                cannot be represented (the message names the column).
        """
        values = pd.Series(values).reset_index(drop=True)
        out = np.full((len(values), self.max_length), -1, dtype=np.int64)
        null_mask = values.isna().to_numpy()
        if null_mask.any():
            if not self.nullable:
                raise ValueError(
                    f"Column '{self.column}' has missing values, but had none when the codec was "
                    'fitted.'
                )
            out[null_mask, 0] = 0

        if (~null_mask).any():
            present = values[~null_mask]
            encoded = (self._encode_values(present, exact) if self.random_decode
                       else self._encode_values(present))
            out[~null_mask, : encoded.shape[1]] = np.where(encoded >= 0, encoded + self.offset, -1)

        return out

    def decode(self, tokens, rng=None):
        """Decode local token ids produced by ``encode`` or by the sampler.

        Args:
            tokens (numpy.ndarray): int array of shape ``(n, width)``, ``-1`` padded.
            rng (numpy.random.Generator or None): draws what the tokens leave open (the
                last digits inside a sub-bin); ``None`` uses a generator seeded with 0.

        Returns:
            pandas.Series: ``n`` values, NaN where the ``<null>`` token was sampled.
        """
        tokens = np.asarray(tokens, dtype=np.int64)
        if tokens.shape[1] < self.max_length:
            pad = np.full((len(tokens), self.max_length - tokens.shape[1]), -1, dtype=np.int64)
            tokens = np.concatenate([tokens, pad], axis=1)

        null_mask = (tokens[:, 0] == 0) if self.nullable else np.zeros(len(tokens), dtype=bool)
        values = pd.Series([np.nan] * len(tokens), dtype=object)
        if (~null_mask).any():
            local = tokens[~null_mask]
            local = np.where(local >= 0, local - self.offset, -1)
            decoded = (self._decode_values(local, rng) if self.random_decode
                       else self._decode_values(local))
            values = self._merge(decoded, null_mask)

        return values

    def fragment(self):
        """The automaton of the valid values of this column over the local tokens.

        Returns:
            Fragment: value tokens shifted past ``<null>``, with ``<null> -> EXIT`` added to the
            start state when the column is nullable; only ``<null>`` when every training value
            was missing.
        """
        if self.only_null:
            return Fragment([{0: EXIT}])
        inner = self._value_fragment()
        if not self.nullable:
            return inner

        shifted = self._shifted(inner)
        shifted.transitions[0][0] = EXIT
        return shifted

    def check_values(self, values, known=False):
        """Raise unless every value can be generated exactly (for conditions).

        Args:
            values (pandas.Series): raw values, missing values as NaN.
            known (bool): the values are known cells, written back as given (a fixed
                condition value, ``sample_remaining_columns``, ``impute``), not values the
                model must generate (a value set, a dependency's target). With value
                protection, a known number beyond the protected bounds but inside the
                metadata's range is then admitted: the model is conditioned on the nearest
                bound (``_known_round_trips``).

        Raises:
            ValueError: a value is an unknown category, outside the fitted range, finer than the
                column's decimal places, or missing in a column without missing values; the
                message names the column and the value.
        """
        values = pd.Series(values).reset_index(drop=True)
        null_mask = values.isna().to_numpy()
        if null_mask.any() and not self.nullable:
            raise ValueError(f"Column '{self.column}' cannot be missing: it had no missing "
                             'values when the synthesizer was fitted.')
        present = values[~null_mask].reset_index(drop=True)
        if len(present) == 0:
            return
        try:
            exact = (self._known_round_trips if known else self._round_trips)(present)
        except ValueError as error:
            raise ValueError(f'{error}{self._protection_note()}') from None
        if not exact.all():
            value = present.iloc[int(np.argmax(~exact))]
            raise ValueError(
                f"Column '{self.column}' cannot take the value {value!r}: it is outside the "
                f'range or the precision the column was fitted with.{self._protection_note()}'
            )

    def admissible(self, values):
        """Which values ``check_values`` admits, one by one.

        Args:
            values (pandas.Series): raw values, missing values as NaN.

        Returns:
            numpy.ndarray: bool ``(len(values),)``.
        """
        values = pd.Series(values, dtype=object).reset_index(drop=True)
        null_mask = values.isna().to_numpy()
        out = np.zeros(len(values), dtype=bool)
        out[null_mask] = self.nullable
        present = values[~null_mask].reset_index(drop=True)
        if not len(present):
            return out
        try:
            out[~null_mask] = np.asarray(self._round_trips(present), dtype=bool)
            return out
        except (ValueError, TypeError, KeyError):
            pass
        rows = np.flatnonzero(~null_mask)
        for row, value in zip(rows, present):
            try:
                out[row] = bool(np.asarray(self._round_trips(pd.Series([value],
                                                                      dtype=object))).all())
            except (ValueError, TypeError, KeyError):
                out[row] = False
        return out

    def _protection_note(self):
        """The end of an error message about a value the column cannot take, when value
        protection hid values of this column (``''`` otherwise)."""
        if not self.protection or self.protection.get('unprotected'):
            return ''
        return (' Value protection (privacy={"value_protection": ...}) hid the categories seen '
                'in fewer than a few training rows and cut the range at the few most extreme '
                'values; those values cannot be generated (a known number beyond the bounds '
                'is kept as given).')

    def values_fragment(self, values):
        """The automaton of exactly the given values (a condition's value set).

        Args:
            values (list): raw values (NaN for a missing value).

        Returns:
            Fragment: over the column's local tokens, like ``fragment()``.

        Raises:
            ValueError: no values, or a value the column cannot take (see ``check_values``).
        """
        values = pd.Series(list(values), dtype=object)
        if len(values) == 0:
            raise ValueError(f"The condition on column '{self.column}' lists no values.")
        self.check_values(values)
        fragment = trie_fragment(self.encode(values, exact=True))
        fragment.merged = self._merged_states(fragment)
        return fragment

    def canonical(self, values):
        """The values as the codec decodes them (dtype and rounding of sampled values).

        Args:
            values (pandas.Series): raw values that ``check_values`` admits.

        Returns:
            pandas.Series: ``len(values)`` values, NaN where missing.
        """
        return self.decode(self.encode(values, exact=True))

    def present_fragment(self):
        """The automaton of every value but ``<null>`` (to fill a missing cell).

        Returns:
            Fragment or None: ``None`` when the column is not nullable (``sampling_fragment()``
            or ``fragment()`` serves) or holds only missing values. Hidden values
            (``<rare>``) are left out.
        """
        if not self.nullable or self.only_null:
            return None
        return self._shifted(self._visible_fragment() if self.rare_token
                             else self._value_fragment())

    def sampling_fragment(self):
        """The automaton sampling uses for this column when it differs from ``fragment()``.

        ``fragment()`` is the grammar of the training rows; a column whose hidden values are
        written as ``<rare>`` (value protection) is sampled without that token, so the model's
        probability of it goes to the visible values.

        Returns:
            Fragment or None: ``None`` when ``fragment()`` serves.
        """
        if not getattr(self, 'rare_token', False) or self.only_null:
            return None
        shifted = self._shifted(self._visible_fragment())
        if self.nullable:
            shifted.transitions[0][0] = EXIT
        return shifted

    def canonical_keys(self, values):
        """One string per value that a sampled value shares with an equal training value.

        Used by the copy filter (``sdv_llm.model.privacy``) to find sampled rows equal to a
        training row: numbers compare at the column's precision, datetimes by time unit,
        missing values as one key.

        Args:
            values (pandas.Series): raw values (training or sampled), missing as NaN.

        Returns:
            numpy.ndarray: object ``(n,)`` strings.
        """
        values = pd.Series(values).reset_index(drop=True)
        null_mask = values.isna().to_numpy()
        keys = np.full(len(values), NULL_KEY, dtype=object)
        if (~null_mask).any():
            keys[~null_mask] = self._present_keys(values[~null_mask])
        return keys

    def _present_keys(self, values):
        """``canonical_keys`` of present values (default: ``cell_key`` of each)."""
        return [cell_key(value) for value in values]

    def _visible_fragment(self):
        """The value automaton without the ``<rare>`` token (codecs with ``rare_token``)."""
        raise NotImplementedError

    def range_fragment(self, low, high, seen_only=False):
        """The automaton of the values in ``[low, high]`` (a condition's range).

        Args:
            low, high: inclusive bounds (numbers, or datetimes for datetime columns); ``None``
                leaves a side open.
            seen_only (bool): prefer the values written as one token (numerical codecs in
                values mode); others ignore it.

        Returns:
            Fragment: over the column's local tokens; missing values are not in any range.

        Raises:
            ValueError: the column is not numerical or datetime, or no value is in range.
        """
        raise ValueError(
            f"Column '{self.column}' is {self.metadata.get('sdtype')!r}: a range condition "
            'needs a numerical or datetime column; give a list of values instead.'
        )

    def text_domain(self):
        """The values of this column as text, for the text serializations.

        Returns:
            sdv_llm.schema.text_domains.StringDomain, NumberDomain or DateDomain

        Raises:
            ValueError: the codec has no text form (a plugin codec that does not implement it).
        """
        raise ValueError(f"Column '{self.column}' uses {type(self).__name__}, which has no text "
                         "form; use serialization='compact'.")

    def _round_trips(self, values):
        """Whether each present value comes back unchanged from ``encode``/``decode``."""
        self._encode_values(values)  # raises for unknown values
        return np.ones(len(values), dtype=bool)

    def _known_round_trips(self, values):
        """``_round_trips`` of known cells (see ``check_values``); the same by default."""
        return self._round_trips(values)

    def _merged_states(self, fragment):
        """The states of a value automaton of this codec (local ids, ``<null>`` included)
        whose token shares the decoder position of the token before it; none by default."""
        return set()

    def _shifted(self, inner):
        """A value fragment with its local ids moved past the ``<null>`` token."""
        if not self.nullable:
            return inner
        return Fragment([{token + self.offset: target for token, target in state.items()}
                         for state in inner.transitions], set(inner.merged))

    # ------------------------------------------------------------ for subclasses
    @staticmethod
    def _merge(decoded, null_mask):
        """Place decoded non-null values in a series with NaN at ``null_mask``."""
        if not null_mask.any():
            return pd.Series(decoded).reset_index(drop=True)

        decoded = pd.Series(decoded)
        if decoded.dtype.kind in 'iub':
            decoded = decoded.astype(object)

        out = pd.Series([np.nan] * len(null_mask), dtype=decoded.dtype)
        out[~null_mask] = decoded.to_numpy()
        return out

    @property
    def max_length(self):
        """Most local tokens one value takes."""
        raise NotImplementedError

    def _fit(self, values):
        raise NotImplementedError

    def _value_tokens(self):
        raise NotImplementedError

    def _encode_values(self, values):
        raise NotImplementedError

    def _decode_values(self, tokens):
        raise NotImplementedError

    def _value_fragment(self):
        raise NotImplementedError

    def __repr__(self):
        return f'{type(self).__name__}({self.column!r})'
