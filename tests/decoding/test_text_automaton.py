"""The byte-level alphabet of text_automaton: the tokenizer libraries' own table."""

from sdv_llm.decoding.text_automaton import _byte_decoder


def _hand_written_byte_decoder():
    """The table text_automaton wrote by hand before using transformers' ``bytes_to_unicode``."""
    printable = (list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1))
                 + list(range(ord('®'), ord('ÿ') + 1)))
    chars = list(printable)
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, chars)}


def test_byte_decoder_is_the_former_table():
    assert _byte_decoder() == _hand_written_byte_decoder()
    assert sorted(_byte_decoder().values()) == list(range(256))


def test_byte_decoder_agrees_with_the_tokenizers_byte_level():
    from tokenizers import decoders, pre_tokenizers

    decoder = _byte_decoder()
    assert set(decoder) == set(pre_tokenizers.ByteLevel.alphabet())
    byte_level = decoders.ByteLevel()
    for char, byte in decoder.items():
        if byte < 128:  # one byte decodes to text on its own only in ASCII
            assert byte_level.decode([char]) == chr(byte)
    # A two-byte character, split over two tokens:
    assert bytes(decoder[c] for c in 'Ġcaf' + 'Ã©') == byte_level.decode(['Ġcaf', 'Ã©']).encode()
