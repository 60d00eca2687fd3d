import time, torch, statistics as st
torch.set_num_threads(1)
B, P, W, H = 4096, 21, 64, 4
hd = W // H
dt = torch.bfloat16
K = torch.randn(P, B * H, hd, dtype=dt); V = torch.randn(P, B * H, hd, dtype=dt)
q0 = torch.randn(B * H, hd, dtype=dt)
def attn(keys, values, q):
    s = (keys * q).sum(-1).float()
    w = torch.softmax(s, 0)
    return (w[..., None] * values.float()).sum(0).to(dt)
t = time.perf_counter()
ca = torch.compile(attn, dynamic=True)
for p in range(P): ca(K[:p+1], V[:p+1], q0)
print('compile s', time.perf_counter() - t)
for f, name in [(ca, 'compiled')]:
    ts = []
    for r in range(5):
        t = time.perf_counter()
        for p in range(P): f(K[:p+1], V[:p+1], q0)
        ts.append(time.perf_counter() - t)
    print(name, round(st.median(ts)*1000, 1), 'ms per batch')
