import sys, time, copy, importlib.util, torch, statistics as st
torch.set_num_threads(1)
from sdv.single_table import LLMSynthesizer
s = LLMSynthesizer.load('/work/runs/bank_1l.pkl')
lm_owner = None
def find(o, depth=0):
    import torch.nn as nn
    if isinstance(o, nn.Module) and hasattr(o, 'lm'): return o
    if depth > 3: return None
    for v in (vars(o).values() if hasattr(o, '__dict__') else []):
        r = find(v, depth+1)
        if r is not None: return r
model = find(s)
red = copy.deepcopy(model).to(torch.bfloat16).eval()
mods = {}
for name in sys.argv[1:]:
    spec = importlib.util.spec_from_file_location('ds_'+name.replace('/','_').replace('.','_'), f'{name}/sdv_llm/model/decode_step.py')
    m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); mods[name] = m
B, P = 4096, 21
emb = torch.randn(B, 64, dtype=torch.bfloat16)
res = {n: [] for n in mods}
red32 = copy.deepcopy(red)
for mod in red32.modules():
    if isinstance(mod, torch.nn.LayerNorm): mod.float()
models = {n: (red32 if 'main' in n else red) for n in mods}
with torch.no_grad():
    for r in range(12):
        for n, m in mods.items():
            cache = m.StepCache(red.config, B, P, torch.bfloat16, torch.device('cpu'))
            t = time.perf_counter()
            for p in range(P): m.decode_step(models[n].lm, emb, cache)
            res[n].append(time.perf_counter() - t)
for n in mods: print(n, 'median ms', round(st.median(res[n])*1000, 1), 'min', round(min(res[n])*1000, 1))
