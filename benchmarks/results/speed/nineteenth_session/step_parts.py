import time, copy, math, torch, statistics as st
from torch.nn import functional as F
torch.set_num_threads(1)
B, P, W, H = 4096, 21, 64, 4
hd = W // H
dt = torch.bfloat16
torch.manual_seed(0)
lin = lambda i, o: (torch.randn(o, dtype=dt) * 0.02, torch.randn(i, o, dtype=dt) * 0.1)
qkv_b, qkv_w = lin(W, 3 * W); pr_b, pr_w = lin(W, W); fc_b, fc_w = lin(W, 4 * W); p2_b, p2_w = lin(4 * W, W)
ln_w, ln_b = torch.ones(W, dtype=dt), torch.zeros(W, dtype=dt)
x0 = torch.randn(B, W, dtype=dt)
K = torch.empty(P, B * H, hd, dtype=dt); V = torch.empty(P, B * H, dtype=dt).new_empty(P, B * H, hd)
heads = (torch.arange(W)[:, None] // hd == torch.arange(H)[None, :]).to(dt)
T = {}
def tick(name, t0):
    t1 = time.perf_counter(); T[name] = T.get(name, 0) + t1 - t0; return t1
for rep in range(6):
    if rep == 1: T.clear()
    for pos in range(P):
        t = time.perf_counter()
        x = x0
        h = F.layer_norm(x, (W,), ln_w, ln_b); t = tick('ln', t)
        qkv = torch.addmm(qkv_b, h, qkv_w); t = tick('mm_qkv', t)
        q, k, v = qkv.split(W, 1)
        K[pos].view(B, W).copy_(k); V[pos].view(B, W).copy_(v); t = tick('kv_write', t)
        q = q.reshape(B * H, hd) * 0.25; t = tick('q_scale', t)
        prod = (K[:pos + 1] * q); t = tick('kq_mul', t)
        sc = (prod.view(pos + 1, B, W) @ heads).view(pos + 1, B * H).float(); t = tick('score_mm', t)
        w = torch.softmax(sc, 0)[..., None]; t = tick('softmax', t)
        a = torch.zeros(B * H, hd)
        for i in range(pos + 1): a.addcmul_(w[i], V[i])
        t = tick('wsum', t)
        a = a.to(dt).reshape(B, W); t = tick('a_cast', t)
        x = x + torch.addmm(pr_b, a, pr_w); t = tick('mm_proj+res', t)
        h = F.layer_norm(x, (W,), ln_w, ln_b); t = tick('ln', t)
        inner = F.gelu(torch.addmm(fc_b, h, fc_w)); t = tick('mm_fc+gelu', t)
        x = x + torch.addmm(p2_b, inner, p2_w); t = tick('mm_p2+res', t)
        out = F.layer_norm(x, (W,), ln_w, ln_b); t = tick('ln', t)
tot = sum(T.values())
for k, v in sorted(T.items(), key=lambda kv: -kv[1]): print(f'{k:12s} {v/5*1000:6.1f} ms  {v/tot*100:4.1f}%')
print('total per batch', round(tot/5*1000, 1))
