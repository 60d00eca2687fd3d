import sys, time, json, numpy as np, pandas as pd, warnings
warnings.filterwarnings('ignore')
from sdv_llm.benchmark.datasets import load_dataset
from sdv_llm.benchmark.runner import score_single_table
from sdv_llm.single_table import LLMSynthesizer
from sdv_llm.model import critic as C
names = sys.argv[1].split(',')
variants = [('none', None, 20), ('w3', 3.0, 20), ('w3-clip3', 3.0, 3.0), ('w3-clip1.5', 3.0, 1.5), ('w5-clip3', 5.0, 3.0)]
for name in names:
    ds = load_dataset(name, '/work/shared/data', max_rows=2000, seed=0)
    synth = LLMSynthesizer(ds.metadata, random_state=0, mixed_training={'epochs': 20, 'baseline': 'FastGenSynthesizer'})
    synth.fit({ds.name: ds.train})
    model = synth._model
    data = ds.train[model.columns]
    sdtypes = {c: ds.metadata.tables[ds.name].columns[c]['sdtype'] for c in model.columns}
    for label, ratio, clip in variants:
        C.MAX_LOGIT = clip
        if ratio is None:
            model.critic = None
        else:
            model.config.critic_filter = {'ratio': ratio, 'mode': 'weighted'}
            model._fit_critic(data, {c: {'sdtype': s} for c, s in sdtypes.items()}, 0)
        synth.reset_sampling()
        rows = synth.sample(len(ds.train))[ds.name]
        score = score_single_table(ds, rows, evaluation_rows=2000, seed=0)
        rec = {'dataset': name, 'variant': label, 'auc': None if model.critic is None else round(model.critic.report['auc'], 3),
               'quality': round(score.get('quality', np.nan), 4), 'shapes': round(score.get('column_shapes', np.nan), 4),
               'pairs': round(score.get('column_pair_trends', np.nan), 4), 'tstr': round(score.get('tstr', np.nan), 4),
               'detection': round(score.get('detection', np.nan), 3), 'dcr': round(score.get('dcr_share', np.nan), 3)}
        print(json.dumps(rec), flush=True)
