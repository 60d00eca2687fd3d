"""A preallocated KV cache: rows of known length are decoded without re-concatenating the cache."""

from transformers.cache_utils import DynamicCache, DynamicLayer


class PreallocatedLayer(DynamicLayer):
    """A ``DynamicLayer`` whose keys and values live in a buffer of fixed capacity.

    ``transformers``' dynamic cache concatenates the whole cache at every step, which costs
    ``O(length ** 2)`` copies per row and dominated CPU sampling time here. This layer writes the
    new keys and values in place and returns views of the filled part, so attention, masks and
    positions are computed exactly as with the dynamic cache.

    Args:
        capacity (int): most positions the cache will hold.
    """

    def __init__(self, capacity):
        super().__init__()
        self.capacity = capacity
        self.length = 0

    def lazy_initialization(self, key_states, value_states):
        self.dtype, self.device = key_states.dtype, key_states.device
        batch, heads, _, dim = key_states.shape
        self._key_buffer = key_states.new_empty((batch, heads, self.capacity, dim))
        self._value_buffer = value_states.new_empty((batch, heads, self.capacity, dim))
        self.keys = self._key_buffer[:, :, :0]
        self.values = self._value_buffer[:, :, :0]
        self.is_initialized = True

    def update(self, key_states, value_states, *args, **kwargs):
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        end = self.length + key_states.shape[-2]
        if end > self.capacity:
            raise RuntimeError(f'KV cache capacity {self.capacity} exceeded.')
        self._key_buffer[:, :, self.length : end] = key_states
        self._value_buffer[:, :, self.length : end] = value_states
        self.length = end
        self.keys = self._key_buffer[:, :, :end]
        self.values = self._value_buffer[:, :, :end]
        return self.keys, self.values

    def get_seq_length(self):
        return self.length


def preallocated_cache(model, capacity):
    """A ``DynamicCache`` for ``model`` whose layers are ``PreallocatedLayer`` of ``capacity``.

    Args:
        model (transformers.PreTrainedModel): the decoder.
        capacity (int): most positions per row.

    Returns:
        transformers.DynamicCache
    """
    cache = DynamicCache(config=model.config)
    cache.layers = [PreallocatedLayer(capacity) for _ in range(model.config.num_hidden_layers)]
    return cache
