"""Column values as text: what each codec's values look like in a text serialization.

A codec's ``text_domain()`` is one of these; the text serializations
(``sdv_llm.serialization.text``) write, parse and constrain values through it.

A column is either a *string* domain (categorical, boolean, ordinal and high-cardinality
columns: a finite set of strings, quoted by the format when needed, ``string_domain``), a
*number* domain (numerical and datetime columns: a scaled integer ``m`` in ``[low, high]``
written in decimal with exactly ``decimals`` places, ``-`` for negatives; datetimes as whole
time units after the column's base, ``number_domain``) or a *date* domain (datetimes written in
their column's ``datetime_format``, ``date_domain``). Each gives a regular expression of exactly
the valid texts (built with ``regex``), which the token automaton is compiled from
(``sdv_llm.decoding.text_automaton``). The domains live in the schema layer because the codecs
build them; the serializations only use them.
"""

from sdv_llm.schema.text_domains.date_domain import DateDomain
from sdv_llm.schema.text_domains.number_domain import NumberDomain
from sdv_llm.schema.text_domains.string_domain import StringDomain

__all__ = ['DateDomain', 'NumberDomain', 'StringDomain']
