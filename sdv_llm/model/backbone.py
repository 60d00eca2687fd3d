"""The embedded default backbone: a small GPT-2 style decoder built from a config, no download."""

from dataclasses import asdict, dataclass

import torch

from sdv_llm.model.decode_step import StepCache, decode_step

ONE_LAYER_MIN_ROWS = 20_000
"""Training rows from which the default decoder has one layer (``BackboneConfig.for_table``):
measured equal on the three tables of 24,000 rows or more, 0.003-0.005 lower on those of
9,800-16,500; the cut lies in the gap between them."""

ONE_LAYER_MIN_EPOCHS = 16
"""Fewest epochs ``epochs=None`` trains a one-layer decoder (``EmbeddedBackbone``): the
300,000-presentation rule gave bank_marketing (36,169 rows) 8, and its column pair trends fell
(quality 0.9726); 16 epochs gave 0.9752 and TSTR +0.004, adult and default_credit +0.0000 to
+0.0004 quality, all three still fitted in 0.34-0.53x TabularARGN's time, DCR shares
0.50 (BENCHMARKS.md, nineteenth session)."""


@dataclass
class BackboneConfig:
    """Size of the embedded decoder.

    Attributes:
        embedding_dim (int): hidden size (``n_embd``).
        num_layers (int): transformer blocks.
        num_heads (int): attention heads; must divide ``embedding_dim``.
        dropout (float): dropout on embeddings and residual branches.
    """

    embedding_dim: int = 128
    num_layers: int = 3
    num_heads: int = 4
    dropout: float = 0.1

    @classmethod
    def for_table(cls, num_rows, vocab_size, sequence_length, embedding_dim=None,
                  num_layers=None, num_heads=None, dropout=None):
        """Size the decoder from the table unless the caller fixed a value.

        Width 64; 2 layers, and 1 layer from ``ONE_LAYER_MIN_ROWS`` training rows; fewer than
        2,000 rows add dropout 0.2 (0.1 otherwise). Measured (BENCHMARKS.md):
        - Width and depth above 2,000 rows (twelfth session, the six tables of
          ``shared/data`` with more than 2,000 rows, same run): against the earlier rule (96 x
          3 under 10,000 rows, 128 x 2 or 3 above), 64 x 2 scored the same or higher
          SDMetrics quality on all six (+0.000 to +0.012), TSTR within 0.011 (-0.005 on
          average), fitted 1.7-3.3x faster and sampled 1.5-3.0x faster.
        - One layer (fourteenth and eighteenth sessions, two runs with different sampling
          seeds): on the three tables of 24,000 training rows or more (adult, bank_marketing,
          default_credit) quality moved by -0.0004 to +0.0026 and TSTR by -0.0014 to -0.0005
          (eighteenth session; +0.001 to +0.002 and -0.006 to 0.000 in the fourteenth), the
          DCR share fell (default_credit 0.526 -> 0.510), fits took 0.57-0.71x the time and
          sampling ran 1.35-1.65x faster. On the tables of 9,800-16,500 rows (shoppers, magic,
          california_housing) it lost 0.003-0.005 quality, and more on iris; so those keep 2.
        - Under 2,000 rows (the ``small`` profile, seventeenth session) one change at a time
          against these defaults: dropout 0.1 +0.0016 mean quality but mean DCR share 0.526
          (rows closer to the training rows), dropout 0.3 -0.014, width 32 -0.0095 quality
          and -0.053 TSTR, 3 layers -0.001 quality and +0.005 TSTR for 50,000 more parameters.
        ``embedding_dim`` and ``num_layers`` still set any size.

        Args:
            num_rows (int): training rows.
            vocab_size (int): tokens in the vocabulary (unused by the rule, kept for plugins).
            sequence_length (int): the serializer's longest row in tokens (unused by the
                rule, kept for plugins).

        Returns:
            BackboneConfig
        """
        default = cls(64, 1 if num_rows >= ONE_LAYER_MIN_ROWS else 2, 4,
                      0.2 if num_rows < 2_000 else 0.1)

        chosen = cls(
            embedding_dim or default.embedding_dim,
            num_layers or default.num_layers,
            num_heads or default.num_heads,
            default.dropout if dropout is None else dropout,
        )
        if chosen.embedding_dim % chosen.num_heads:
            raise ValueError(
                f'embedding_dim={chosen.embedding_dim} must be a multiple of '
                f'num_heads={chosen.num_heads}.'
            )
        return chosen

    def to_dict(self):
        """The fields as a dict."""
        return asdict(self)


def build_backbone(config, vocab_size, sequence_length, special_ids):
    """Build a randomly initialised ``transformers.GPT2LMHeadModel``.

    Args:
        config (BackboneConfig): the size.
        vocab_size (int): output classes and embedding rows.
        sequence_length (int): positions (``n_positions``).
        special_ids (dict): ``{'bos': int, 'eos': int}``.

    Returns:
        transformers.GPT2LMHeadModel: on the CPU, in float32.
    """
    from transformers import GPT2Config, GPT2LMHeadModel

    hf_config = GPT2Config(
        vocab_size=vocab_size,
        n_positions=sequence_length,
        n_embd=config.embedding_dim,
        n_layer=config.num_layers,
        n_head=config.num_heads,
        n_inner=4 * config.embedding_dim,
        activation_function='gelu',  # torch's fused GELU; GPT-2's tanh form is 3x slower on CPU
        resid_pdrop=config.dropout,
        embd_pdrop=config.dropout,
        attn_pdrop=0.0,
        bos_token_id=special_ids['bos'],
        eos_token_id=special_ids['eos'],
        # No pad_token_id: padding only follows <eos>, which causal attention never looks
        # past, so no attention mask is needed (and transformers would warn for its absence).
        tie_word_embeddings=True,
        attn_implementation='sdpa',
    )
    return GPT2LMHeadModel(hf_config)


class TabularDecoder(torch.nn.Module):
    """A causal LM whose input also says which column the next token belongs to.

    The input embedding at position ``t`` is the embedding of token ``t`` plus a learned
    embedding of the column of token ``t + 1`` (``num_columns`` marks the end of the row). With
    one fixed column order this is redundant; with a column order per row (random permutations,
    conditioned columns first) it tells the model which column to generate next without
    spending a marker token per column, so rows stay as short as in fixed order.

    With ``sub_tokens``, a value's second token (a binned number's sub-bin token after its bin
    token; ``Fragment.merged``) takes no position of its own: the position of the first token
    adds the second token's embedding to its input, and the second token is predicted from
    the hidden state that predicts the first, joined with the first token's embedding, by one
    small layer (``sub_hidden``). A continuous number then costs one decoder step, as in
    TabularARGN, where each sub-column has a head of its own.

    Args:
        lm (transformers.PreTrainedModel): the causal LM (for example from ``build_backbone``).
        num_columns (int): modelled columns.
        sub_tokens (bool): build the second-token layer (for automata with merged states).

    Attributes:
        config: the LM's ``transformers`` config (the KV cache and the sampler read it).
        sub_tokens (bool): whether second tokens share their first token's position.
    """

    def __init__(self, lm, num_columns, sub_tokens=False):
        super().__init__()
        self.lm = lm
        self.config = lm.config
        width = lm.get_input_embeddings().embedding_dim
        self.column_embedding = torch.nn.Embedding(num_columns + 1, width)
        torch.nn.init.normal_(self.column_embedding.weight, std=0.02)
        self.sub_tokens = bool(sub_tokens)
        if self.sub_tokens:
            self.sub_layer = torch.nn.Linear(2 * width, width)

    def _embed(self, input_ids, next_columns, extra_ids=None):
        """Input embeddings: tokens, the next column, and the merged second tokens (``-1``
        where a position has none)."""
        embedding = self.lm.get_input_embeddings()
        embeds = embedding(input_ids) + self.column_embedding(next_columns)
        if extra_ids is not None:
            present = (extra_ids >= 0).unsqueeze(-1).to(embeds.dtype)
            embeds = embeds + embedding(extra_ids.clamp_min(0)) * present
        return embeds

    def sub_hidden(self, hidden, first_ids):
        """The hidden state that predicts a merged second token.

        Args:
            hidden (torch.Tensor): float ``(..., embedding_dim)``: the state that predicted
                the first token.
            first_ids (torch.Tensor): int64 ``(...)``: the first token.

        Returns:
            torch.Tensor: float ``(..., embedding_dim)``, read through the output layer.
        """
        hidden = hidden.to(self.sub_layer.weight.dtype)  # a reduced copy's float32 norm out
        first = self.lm.get_input_embeddings()(first_ids).to(hidden.dtype)
        return torch.nn.functional.gelu(self.sub_layer(torch.cat([hidden, first], dim=-1)))

    def forward(self, input_ids, next_columns, hidden=False, extra_ids=None, sub_ids=None,
                **kwargs):
        """Run the LM.

        Args:
            input_ids (torch.Tensor): int64 ``(batch, length)`` tokens.
            next_columns (torch.Tensor): int64 ``(batch, length)`` column of the token that
                follows each input token.
            hidden (bool): return the final hidden states instead of the logits (the
                training loss computes the logits of each position's token window).
            extra_ids (torch.Tensor or None): int64 ``(batch, length)`` merged second tokens
                of each input position, ``-1`` where none (``sub_tokens``).
            sub_ids (torch.Tensor or None): int64 ``(batch, length)``: with ``hidden``, also
                return ``sub_hidden`` of the hidden states and these first tokens (the first
                token each position predicts).
            **kwargs: passed to the LM (``past_key_values``, ``use_cache``, ``logits_to_keep``).

        Returns:
            transformers.modeling_outputs.CausalLMOutputWithPast: ``logits`` of shape
            ``(batch, length or logits_to_keep, vocab_size)``; with ``hidden``, a float
            tensor ``(batch, length, embedding_dim)``, or with ``sub_ids`` a pair of them.
        """
        embeds = self._embed(input_ids, next_columns, extra_ids)
        if hidden:
            states = self.lm.base_model(inputs_embeds=embeds, **kwargs).last_hidden_state
            if sub_ids is None:
                return states
            return states, self.sub_hidden(states, sub_ids)
        return self.lm(inputs_embeds=embeds, **kwargs)

    windowed = True
    """The sampler and the loss compute logits over token windows (``last_hidden``,
    ``output_weight``; ``sdv_llm.decoding.windows``)."""

    @property
    def max_positions(self):
        """int: most positions the decoder attends over."""
        return int(self.config.n_positions)

    def kv_cache_bytes(self, capacity, dtype):
        """Bytes of keys and values one row of ``capacity`` positions holds in ``dtype``."""
        return (2 * self.config.n_layer * self.config.n_embd * capacity
                * (torch.finfo(dtype).bits // 8))

    def full_cache(self, capacity):
        """An empty ``transformers`` KV cache of ``capacity`` positions for ``forward``."""
        from sdv_llm.decoding.kv_cache import preallocated_cache
        return preallocated_cache(self.lm, capacity)

    def step_cache(self, batch, capacity, dtype=None):
        """An empty KV cache for ``last_hidden``.

        Args:
            batch (int): rows decoded together.
            capacity (int): most positions per row.
            dtype (torch.dtype or None): of the keys and values (default: the weights').

        Returns:
            sdv_llm.model.decode_step.StepCache
        """
        weight = self.lm.get_input_embeddings().weight
        return StepCache(self.config, batch, capacity, dtype or weight.dtype, weight.device)

    def last_hidden(self, input_ids, next_columns, cache, extra_ids=None):
        """One decoding position without the output layer (the sampler computes the logits of
        the tokens the automaton can allow itself).

        Args:
            input_ids (torch.Tensor): int64 ``(batch, 1)`` new tokens.
            next_columns (torch.Tensor): int64 ``(batch, 1)``, see ``forward``.
            cache (StepCache): from ``step_cache``, extended by one position.
            extra_ids (torch.Tensor or None): int64 ``(batch, 1)`` merged second tokens,
                ``-1`` where none.

        Returns:
            tuple: float ``(batch, embedding_dim)`` final hidden state (after the last layer
            norm) and the cache.

        Raises:
            ValueError: more than one new position (a prompt longer than ``<bos>``).
        """
        if input_ids.shape[1] != 1:
            raise ValueError('last_hidden decodes one position at a time.')
        embeds = self._embed(input_ids[:, -1], next_columns[:, -1],
                             None if extra_ids is None else extra_ids[:, -1])
        return decode_step(self.lm, embeds, cache), cache

    def output_weight(self):
        """float ``(vocab_size, embedding_dim)``: the output layer (no bias)."""
        return self.lm.get_output_embeddings().weight
