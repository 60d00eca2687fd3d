"""The synthesizers a benchmark can run, by name: LLMSynthesizer configurations, SDV, peers.

A :class:`SynthesizerSpec` says how to build a synthesizer from metadata and parameters and of
which kind it is: ``'single'`` (an SDV single-table synthesizer), ``'multi'`` (an SDV
multi-table synthesizer) or ``'peer'`` (another project's generator, run in its own Python
environment by :mod:`sdv_llm.benchmark.peers`). New synthesizers are added with
:func:`register`; the project's multi-table synthesizer is registered by name already and
becomes runnable once ``sdv_llm.multi_table.LLMMultiTableSynthesizer`` exists.
"""

import importlib
import inspect
from dataclasses import dataclass, field

#: Named LLMSynthesizer configurations: parameters on top of LLMSynthesizer's defaults.
LLM_CONFIGURATIONS = {
    'LLMSynthesizer': {},
    'LLMSynthesizer-small': {'embedding_dim': 64, 'num_layers': 2},
    # Issue 14: the decoder the size rule picked above 10,000 rows before it became 64 x 2.
    'LLMSynthesizer-large': {'embedding_dim': 128, 'num_layers': 3},
    # Issue 14: the float32 decoder on a CPU with native bf16, for a same-machine comparison.
    'LLMSynthesizer-float32': {'precision': 'float32'},
    # Issue 14: one decoder step per binned number (sub-bin token in the bin token's position).
    'LLMSynthesizer-merged': {'merge_sub_tokens': True},
    # Issue 18's strategies one at a time, without the small-table defaults ('auto': mixed
    # training and critic filtering under 2,000 rows): plain training, then each strategy.
    'LLMSynthesizer-plain': {'mixed_training': None, 'critic_filter': None},
    'LLMSynthesizer-mixed': {'mixed_training': {'baseline': 'GaussianCopulaSynthesizer'},
                             'critic_filter': None},
    'LLMSynthesizer-mixed-fastgen': {'mixed_training': {'baseline': 'FastGenSynthesizer',
                                                        'epochs': 20}, 'critic_filter': None},
    'LLMSynthesizer-critic': {'critic_filter': True, 'mixed_training': None},
    'LLMSynthesizer-critic-top': {'critic_filter': {'mode': 'top', 'ratio': 1.5},
                                  'mixed_training': None},
    'LLMSynthesizer-reward': {'reward_finetuning': True, 'mixed_training': None,
                              'critic_filter': None},
    # Issue 17: DP-SGD at three budgets (delta 1e-5).
    **{f'LLMSynthesizer-dp{e}': {'differential_privacy': {'epsilon': float(e), 'delta': 1e-5}}
       for e in (1, 3, 10)},
}


@dataclass(frozen=True)
class SynthesizerSpec:
    """How to build one named synthesizer.

    Attributes:
        name (str): the name used on the command line and in results.
        kind (str): ``'single'``, ``'multi'`` or ``'peer'``.
        target (str): ``'module:Class'`` to import (single, multi), or the peer's name.
        defaults (dict): constructor parameters of the protocol (e.g. 300 epochs).
        gpu_parameter (str or None): the constructor's GPU switch, set from the device.
        seed_parameter (str or None): the constructor's seed parameter, set from the seed.
        ours (bool): one of this project's synthesizers (ratios are reported for these
            against every other synthesizer of the same run).
    """

    name: str
    kind: str
    target: str
    defaults: dict = field(default_factory=dict)
    gpu_parameter: str | None = None
    seed_parameter: str | None = None
    ours: bool = False

    def parameters(self, overrides=None, device='cpu', seed=0):
        """The constructor parameters: defaults, then ``overrides``, GPU switch and seed.

        Args:
            overrides (dict or None): parameters replacing the defaults.
            device (str): ``'cpu'`` or ``'cuda'``.
            seed (int): seed for ``seed_parameter`` unless ``overrides`` sets it.

        Returns:
            dict
        """
        params = {**self.defaults, **(overrides or {})}
        if self.gpu_parameter:
            params.setdefault(self.gpu_parameter, device == 'cuda')
        if self.seed_parameter:
            params.setdefault(self.seed_parameter, seed)
        return params

    def build(self, metadata, overrides=None, device='cpu', seed=0):
        """Instantiate the synthesizer (single and multi kinds).

        Args:
            metadata (sdv.metadata.Metadata): metadata of the dataset.
            overrides (dict or None): parameters replacing the defaults.
            device (str): ``'cpu'`` or ``'cuda'``.
            seed (int): seed for ``seed_parameter``.

        Multi-table synthesizers: parameters their constructor does not take are table
        parameters, set on every table with ``set_table_parameters``; ``table_parameters``
        (``{table: {parameter: value}}``) sets some tables' parameters on top.

        Returns:
            an SDV synthesizer, not fitted.

        Raises:
            TypeError: for a peer (run it with :func:`sdv_llm.benchmark.peers.run_peer`).
            ImportError: when the class cannot be imported (not installed, not written yet).
        """
        if self.kind == 'peer':
            raise TypeError(f'{self.name} is a peer; it runs in its own environment.')
        module, _, attribute = self.target.partition(':')
        cls = getattr(importlib.import_module(module), attribute)
        params = self.parameters(overrides, device, seed)
        if self.kind != 'multi':
            return cls(metadata, **params)
        by_table = params.pop('table_parameters', None) or {}
        accepted = inspect.signature(cls.__init__).parameters
        every_table = {k: params.pop(k) for k in list(params) if k not in accepted}
        synthesizer = cls(metadata, **params)
        for table in synthesizer.metadata.tables:
            table_params = {**every_table, **by_table.get(table, {})}
            if table_params:
                synthesizer.set_table_parameters(table, table_params)
        return synthesizer


SYNTHESIZERS = {}


def register(spec):
    """Add a synthesizer to the registry (replacing one of the same name).

    Args:
        spec (SynthesizerSpec): the synthesizer.

    Returns:
        SynthesizerSpec: ``spec``.
    """
    SYNTHESIZERS[spec.name] = spec
    return spec


def get_spec(name):
    """The registered synthesizer called ``name``.

    Raises:
        KeyError: naming the registered synthesizers.
    """
    try:
        return SYNTHESIZERS[name]
    except KeyError:
        raise KeyError(f'Unknown synthesizer {name!r}; registered: '
                       f'{", ".join(sorted(SYNTHESIZERS))}.') from None


for _name, _params in LLM_CONFIGURATIONS.items():
    register(SynthesizerSpec(_name, 'single', 'sdv_llm.single_table:LLMSynthesizer', _params,
                             gpu_parameter='enable_gpu', seed_parameter='random_state',
                             ours=True))
register(SynthesizerSpec('FastGenSynthesizer', 'single',
                         'sdv_llm.fastgen.synthesizer:FastGenSynthesizer',
                         seed_parameter='random_state', ours=True))
register(SynthesizerSpec('FastGenSynthesizer-none', 'single',
                         'sdv_llm.fastgen.synthesizer:FastGenSynthesizer',
                         {'dependencies': 'none'}, seed_parameter='random_state', ours=True))
register(SynthesizerSpec('GaussianCopulaSynthesizer', 'single',
                         'sdv.single_table:GaussianCopulaSynthesizer'))
register(SynthesizerSpec('CTGANSynthesizer', 'single', 'sdv.single_table:CTGANSynthesizer',
                         {'epochs': 300}, gpu_parameter='enable_gpu'))
register(SynthesizerSpec('TVAESynthesizer', 'single', 'sdv.single_table:TVAESynthesizer',
                         {'epochs': 300}, gpu_parameter='enable_gpu'))
register(SynthesizerSpec('HMASynthesizer', 'multi', 'sdv.multi_table:HMASynthesizer'))
register(SynthesizerSpec('LLMMultiTableSynthesizer', 'multi',
                         'sdv_llm.multi_table:LLMMultiTableSynthesizer',
                         gpu_parameter='enable_gpu', ours=True))
register(SynthesizerSpec('TabularARGN', 'peer', 'tabularargn'))
for _epsilon in (1, 3, 10):  # mostlyai-engine's DP-SGD (opacus) at the same budgets
    register(SynthesizerSpec(f'TabularARGN-dp{_epsilon}', 'peer', 'tabularargn', {
        'differential_privacy': {'max_epsilon': float(_epsilon), 'delta': 1e-5}}))
register(SynthesizerSpec('REaLTabFormer', 'peer', 'realtabformer', {'epochs': 100}))
register(SynthesizerSpec('GReaT', 'peer', 'great', {'epochs': 50}))
