"""Tokens per row, decoder steps per row and default parameters of each dataset, without training.

    python -m benchmarks.sequence_stats --data-dir ../shared/data [--datasets adult,magic]

Prints a Markdown table: the compact vocabulary, mean and longest tokens per training row
(``<bos>`` and ``<eos>`` included), decoder steps per row when sampling (one forward per token
after ``<bos>``; the closing ``<eos>`` is written without the model; a batch steps until its
longest row is done, so the batch mean of the longest is shown), the same with
``merge_sub_tokens`` (a binned number's sub-bin token in its bin token's position) and the
parameters of the decoder that ``LLMSynthesizer`` builds by default. Run it on two commits to
compare encodings.
"""

import argparse

import numpy as np

from sdv_llm.benchmark.datasets import dataset_names, load_dataset
from sdv_llm.model.backbone import BackboneConfig, TabularDecoder, build_backbone
from sdv_llm.schema import CodecOptions, TableSchema
from sdv_llm.serialization.compact import BOS, EOS, CompactSerializer


def sequence_stats(dataset, batch_size=4096):
    """Sequence statistics of one single-table dataset.

    Args:
        dataset (sdv_llm.benchmark.datasets.Dataset): a single-table dataset.
        batch_size (int): rows sampled together (the sampler's default).

    Returns:
        dict: ``vocabulary``, ``tokens_mean``, ``tokens_max``, ``steps`` (decoder forwards
        per row in a batch of ``batch_size``), ``merged_steps`` (the same with
        ``merge_sub_tokens``) and ``parameters``.
    """
    data = dataset.train
    columns = dataset.metadata.tables[dataset.table_name].columns
    modelled = [c for c in data.columns if columns[c]['sdtype'] not in ('id',)]
    schema = TableSchema.fit(data[modelled], {c: columns[c] for c in modelled}, True,
                             CodecOptions(), 'fixed')
    serializer = CompactSerializer(schema)
    blocks = serializer.encode_blocks(data[modelled])
    counts = [(block >= 0).sum(axis=1) for block in blocks]
    tokens = 2 + sum(counts)
    # A binned number's second token takes no decoder position of its own.
    shared = sum((count == 2) for column, count in zip(schema.order, counts)
                 if getattr(schema.codecs[column], 'bins', None) is not None)
    positions = tokens - shared

    def steps(lengths):
        return float(np.mean([lengths[i:i + batch_size].max()
                              for i in range(0, len(lengths), batch_size)])) - 2

    length = int(tokens.max())
    config = BackboneConfig.for_table(len(data), serializer.vocab_size, serializer.max_length)
    lm = build_backbone(config, serializer.vocab_size, serializer.max_length,
                        {'bos': BOS, 'eos': EOS})
    model = TabularDecoder(lm, serializer.num_columns)
    return {'vocabulary': serializer.vocab_size, 'tokens_mean': float(tokens.mean()),
            'tokens_max': length, 'steps': steps(tokens), 'merged_steps': steps(positions),
            'parameters': int(sum(p.numel() for p in model.parameters()))}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data-dir', default=None)
    parser.add_argument('--datasets', default=None, help='comma-separated (default: all single)')
    parser.add_argument('--max-rows', type=int, default=None)
    args = parser.parse_args(argv)
    names = (args.datasets.split(',') if args.datasets
             else dataset_names(args.data_dir, multi_table=False))
    print('| dataset | vocabulary | tokens/row (mean, max) | decoder steps/row | '
          'with merge_sub_tokens | parameters |')
    print('|---|---|---|---|---|---|')
    for name in names:
        dataset = load_dataset(name, args.data_dir, max_rows=args.max_rows)
        stats = sequence_stats(dataset)
        print(f"| {name} | {stats['vocabulary']:,} | {stats['tokens_mean']:.1f}, "
              f"{stats['tokens_max']} | {stats['steps']:.0f} | {stats['merged_steps']:.0f} | "
              f"{stats['parameters']:,} |",
              flush=True)


if __name__ == '__main__':
    main()
