"""Fit the tiny shop -> sale model with a checkpoint folder; write loss histories and tables.

Usage: python -m tests.persistence.multi_checkpoint_worker CHECKPOINT_DIR OUTPUT_PREFIX [SLOW]
With SLOW set, the fit waits after each checkpoint of the second table (``sale``), so the
test can kill it there: ``shop`` finished, ``sale`` part-trained.
"""

import sys
import time
import warnings
from pathlib import Path

from sdv_llm.model import checkpoint as checkpoint_module
from sdv_llm.relational import persistence
from tests.conftest import TINY
from tests.multi_table.conftest import two_tables

TABLES = ('shop', 'sale')


def build():
    """The data and an unfitted synthesizer: 3 epochs a table, seed 0."""
    from sdv_llm.multi_table import LLMMultiTableSynthesizer

    data, metadata = two_tables()
    synthesizer = LLMMultiTableSynthesizer(metadata, enable_gpu=False, random_state=0,
                                           max_children=4)
    for table in synthesizer.metadata.tables:
        synthesizer.set_table_parameters(table, {**TINY, 'epochs': 3})
    return data, synthesizer


def write(synthesizer, prefix):
    """Each table's loss history and a sample, as CSV files ``PREFIX_<table>_{loss,rows}``."""
    synthesizer.reset_sampling()
    sampled = synthesizer.sample_scale(1.0)
    for table in TABLES:
        synthesizer.get_loss_values(table).to_csv(f'{prefix}_{table}_loss.csv', index=False)
        sampled[table].to_csv(f'{prefix}_{table}_rows.csv', index=False)


def main(checkpoint_dir, prefix, slow=False):
    warnings.simplefilter('ignore')
    if slow:  # linger after each checkpoint of the second table: the parent kills it there
        save = checkpoint_module.TrainingCheckpoint.save

        def slow_save(self, *args, **kwargs):
            save(self, *args, **kwargs)
            if 'sale' in self.directory.parts:
                time.sleep(60)

        checkpoint_module.TrainingCheckpoint.save = slow_save
    load = checkpoint_module.TrainingCheckpoint.load

    def recording_load(self, *args, **kwargs):  # the epoch each table resumes after
        saved = load(self, *args, **kwargs)
        table = self.directory.parent.name
        Path(f'{prefix}_{table}_resumed_after.txt').write_text(
            '' if saved is None else str(saved['epoch']))
        return saved

    checkpoint_module.TrainingCheckpoint.load = recording_load
    finished = persistence.TableCheckpoints.finished

    def recording_finished(self, name, *args, **kwargs):  # the tables read back, not trained
        model = finished(self, name, *args, **kwargs)
        if model is not None:
            with open(f'{prefix}_skipped.txt', 'a', encoding='utf-8') as handle:
                handle.write(f'{name}\n')
        return model

    persistence.TableCheckpoints.finished = recording_finished
    data, synthesizer = build()
    synthesizer.fit(data, checkpoint_dir=checkpoint_dir)
    write(synthesizer, prefix)


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2], len(sys.argv) > 3)
