import torch, time
torch.set_num_threads(1)
B, H, hd = 4096, 4, 16; W = H*hd; P = 21
dt = torch.bfloat16
K = torch.randn(P, B*H, hd, dtype=dt); V = torch.randn(P, B*H, hd, dtype=dt)
Q = torch.randn(B*H, hd, dtype=dt)
def timeit(name, f):
    for p in range(P): f(p)
    t = time.perf_counter()
    for r in range(5):
        for p in range(P): f(p)
    print(name, f'{(time.perf_counter()-t)/5*1000:.1f} ms')
timeit('mul', lambda p: K[:p+1]*Q)
timeit('mulsum', lambda p: (K[:p+1]*Q).sum(-1))
timeit('mulsum_f', lambda p: (K[:p+1]*Q).sum(-1).float())
timeit('mulsum_dtype', lambda p: (K[:p+1]*Q).sum(-1, dtype=torch.float32))
# view as (p, B*H*hd) elementwise and reshape sum
S = torch.randn(P, B*H)
timeit('softmax', lambda p: torch.softmax(S[:p+1], 0))
w = torch.softmax(S, 0)[..., None]
def loop(p):
    a = torch.zeros((B*H, hd))
    for i in range(p+1): a.addcmul_(w[i], V[i])
    return a
timeit('loop', loop)
wb = w.to(dt)
timeit('wsum_bf16', lambda p: (wb[:p+1]*V[:p+1]).sum(0))
timeit('wsum_f', lambda p: (wb[:p+1]*V[:p+1]).sum(0, dtype=torch.float32))
# batched via matmul: per row-head: (1,p)@(p,hd) -> use einsum with transposed layout
Kt = K.permute(1, 2, 0).contiguous()  # (BH, hd, P)
timeit('mulsum_t', lambda p: (Kt[:, :, :p+1]*Q[..., None]).sum(1))
# scores via matmul of qblock: keys (p, B, W) @ ... not per-row
# Query-key sums as products (formerly a separate script)
ref = lambda p: (K[:p+1]*Q).sum(-1).float()
ones = torch.ones(hd, 1, dtype=dt)
E = torch.zeros(W, H, dtype=dt)
for h in range(H): E[h*hd:(h+1)*hd, h] = 1
timeit('mm_ones', lambda p: ((K[:p+1]*Q) @ ones).squeeze(-1).float())
timeit('mm_E', lambda p: ((K[:p+1]*Q).view(-1, W) @ E).float())
for p in [5, 20]:
    a = ref(p); b = ((K[:p+1]*Q).view(-1, W) @ E).float().view(p+1, -1)
    print(p, (a-b).abs().max().item(), a.abs().max().item())
# block-diag query trick: scores = K.view(p, B, W) batched by B: (B, p, W) @ (B, W, H)
Kb = K.view(P, B, W).permute(1, 0, 2).contiguous()
Qd = (Q.view(B, H, hd)[:, :, None, :] * torch.eye(H, dtype=dt)[None, :, :, None]).reshape(B, H, W).transpose(1, 2).contiguous()
timeit('bmm_blockdiag', lambda p: torch.bmm(Kb[:, :p+1], Qd))
