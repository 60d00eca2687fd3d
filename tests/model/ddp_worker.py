"""One of two training processes started by torchrun (see test_distributed.py).

Fits a TabularLM on iris (the default decoder, or LoRA on the backbone directory given as
the third argument) and writes this process's view to ``<output>/rank<i>.json``: the
number of processes, the rows its loss saw, a checksum of the trained weights and a sample.
"""

import json
import sys
from pathlib import Path

import pandas as pd
import torch

from sdv_llm.model import distributed, training
from sdv_llm.tabular_lm import TabularLM, TabularLMConfig


def main(output, data, backbone='default'):
    seen = []

    def counting(loss):
        def wrapped(outputs, targets, *args):
            seen.append(len(targets))
            return loss(outputs, targets, *args)
        return wrapped

    # The default decoder's loss is over token windows, a text backbone's over the vocabulary.
    training.constrained_loss = counting(training.constrained_loss)
    training.window_loss = counting(training.window_loss)
    table = pd.read_csv(data)
    columns = {c: {'sdtype': 'numerical'} for c in table.columns[:-1]}
    columns[table.columns[-1]] = {'sdtype': 'categorical'}
    pretrained = {} if backbone == 'default' else {
        'backbone': backbone, 'serialization': 'text',
        'lora': {'r': 4, 'lora_alpha': 8, 'lora_dropout': 0.0}}
    config = TabularLMConfig(epochs=3, batch_size=32, embedding_dim=16, num_layers=1,
                             num_heads=2, enable_gpu=False, validation_fraction=0.0,
                             random_state=None, sample_batch_size=64,
                             **pretrained)  # random_state=None: the main process's seed
    model = TabularLM(config).fit(table, columns)
    state = distributed.process_state()
    weights = torch.cat([p.detach().flatten() for p in model.model.parameters()
                         if p.requires_grad])  # the LoRA weights alone with a backbone
    sample = model.sample(20)
    Path(output, f'rank{state.process_index}.json').write_text(json.dumps({
        'processes': state.num_processes, 'rows_seen': int(sum(seen)),
        'checksum': float(weights.double().sum()), 'first': weights[:8].tolist(),
        'losses': model.loss_values['Loss'].tolist(),
        'valid_species': bool(sample[table.columns[-1]].isin(table[table.columns[-1]]).all()),
    }))


if __name__ == '__main__':
    main(*sys.argv[1:])
