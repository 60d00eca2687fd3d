import sys, time, json, numpy as np, pandas as pd, warnings
warnings.filterwarnings('ignore')
from sdv_llm.benchmark.datasets import load_dataset
from sdv_llm.benchmark.runner import score_single_table
from sdv_llm.single_table import LLMSynthesizer
from sdv_llm.model import critic as C
import torch
names = sys.argv[1].split(',')
out = []
orig = C.Critic._choose_products
def limited(degree):
    def choose(self):
        p = orig(self)
        if degree == 1: return p[:0]
        if degree == 2:
            base = len(self.numeric) + sum(1 for i in self.numeric if i[4]) + sum(len(c) for _, c in self.categorical)
            return p[p[:, 2] == base]
        return p
    return choose
variants = [('none', None, None, 3), ('w1.5', 1.5, 'weighted', 3), ('w3', 3.0, 'weighted', 3),
            ('w5', 5.0, 'weighted', 3), ('w3-d2', 3.0, 'weighted', 2), ('w3-d1', 3.0, 'weighted', 1),
            ('t1.5-d2', 1.5, 'top', 2)]
for name in names:
    ds = load_dataset(name, '/work/shared/data', max_rows=2000, seed=0)
    synth = LLMSynthesizer(ds.metadata, random_state=0)
    synth.fit({ds.name: ds.train})
    model = synth._model
    data = ds.train[model.columns]
    sdtypes = {c: ds.metadata.tables[ds.name].columns[c]['sdtype'] for c in model.columns}
    for label, ratio, mode, degree in variants:
        C.Critic._choose_products = limited(degree)
        if ratio is None:
            model.critic = None
        else:
            model.config.critic_filter = {'ratio': ratio, 'mode': mode}
            model._fit_critic(data, {c: {'sdtype': s} for c, s in sdtypes.items()}, 0)
        synth.reset_sampling()
        t = time.time()
        rows = synth.sample(len(ds.train))[ds.name]
        st = time.time() - t
        score = score_single_table(ds, rows, evaluation_rows=2000, seed=0)
        rec = {'dataset': name, 'variant': label, 'auc': None if model.critic is None else round(model.critic.report['auc'], 3),
               'feat': None if model.critic is None else model.critic.report['features'],
               'quality': round(score.get('quality', np.nan), 4), 'tstr': round(score.get('tstr', np.nan), 4),
               'detection': round(score.get('detection', np.nan), 3), 'dcr': round(score.get('dcr_share', np.nan), 3), 'sample_s': round(st, 1)}
        print(json.dumps(rec), flush=True)
    C.Critic._choose_products = orig
