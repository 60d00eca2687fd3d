"""Fit the tiny iris model with a checkpoint folder and write its loss history and 30 rows.

Usage: python -m tests.persistence.checkpoint_worker CHECKPOINT_DIR OUTPUT_PREFIX [SLOW]
With SLOW set, every epoch after the first checkpoint waits, so the test can kill it there.
"""

import sys
import time
import warnings
from pathlib import Path

import pandas as pd
from sdv.metadata import Metadata

from sdv_llm.model import checkpoint as checkpoint_module
from sdv_llm.single_table import LLMSynthesizer

PARAMS = {'epochs': 4, 'batch_size': 32, 'embedding_dim': 16, 'num_layers': 1, 'num_heads': 2,
          'enable_gpu': False, 'random_state': 0, 'sample_batch_size': 512, 'patience': 10,
          'mixed_training': None, 'critic_filter': None}  # a plain fit (iris is under 2,000 rows)


def main(checkpoint_dir, prefix, slow=False):
    warnings.simplefilter('ignore')
    data = pd.read_csv(Path(__file__).parent.parent / 'data' / 'iris.csv')
    metadata = Metadata.detect_from_dataframes({'iris': data})
    if slow:  # linger after each checkpoint so that the parent kills the fit mid-way
        save = checkpoint_module.TrainingCheckpoint.save

        def slow_save(self, *args, **kwargs):
            save(self, *args, **kwargs)
            time.sleep(30)

        checkpoint_module.TrainingCheckpoint.save = slow_save
    load = checkpoint_module.TrainingCheckpoint.load

    def recording_load(self, *args, **kwargs):  # record the epoch a fit resumes after
        saved = load(self, *args, **kwargs)
        Path(f'{prefix}_resumed_after.txt').write_text(
            '' if saved is None else str(saved['epoch']))
        return saved

    checkpoint_module.TrainingCheckpoint.load = recording_load
    synthesizer = LLMSynthesizer(metadata, **PARAMS)
    synthesizer.fit({'iris': data}, checkpoint_dir=checkpoint_dir)
    synthesizer.get_loss_values().to_csv(f'{prefix}_loss.csv', index=False)
    synthesizer.sample(30)['iris'].to_csv(f'{prefix}_rows.csv', index=False)


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2], len(sys.argv) > 3)
