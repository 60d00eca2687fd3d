import sys, time, torch
import sdv_llm.decoding.sampler as sm
from sdv.single_table import LLMSynthesizer
torch.set_num_threads(1)
s = LLMSynthesizer.load(sys.argv[1]); n = int(sys.argv[2])
orig=sm.map_batches; sm.map_batches=lambda f,items,w: orig(f,items,1)
for bs in [1024, 2048, 4096, 1024, 2048, 4096]:
    s._model.config.sample_batch_size = bs if hasattr(s, '_model') else None
    lm = s._model if hasattr(s, '_model') else None
    s.reset_sampling(); t=time.perf_counter(); s.sample(n); print(bs, 'rows/s', round(n/(time.perf_counter()-t)))
