import torch, time, math
torch.set_num_threads(1)
B, H, hd = 4096, 4, 16; W = H*hd; P = 21
dt = torch.bfloat16
torch.manual_seed(0)
K = torch.randn(P, B*H, hd, dtype=dt); V = torch.randn(P, B*H, hd, dtype=dt)
Q = torch.randn(B*H, hd, dtype=dt)
def cur(p):
    keys, values = K[:p+1], V[:p+1]
    q = Q * 0.25
    s = (keys*q).sum(-1).float(); w = torch.softmax(s, 0)[..., None]
    a = torch.zeros((B*H, hd)); 
    for i in range(p+1): a.addcmul_(w[i], values[i])
    return a.to(dt)
# layout (B*H, P, hd) contiguous float32 bmm
K2 = K.permute(1,0,2).contiguous(); V2 = V.permute(1,0,2).contiguous()
K2f, V2f, Qf = K2.float(), V2.float(), Q.float()
def bmm32(p):
    k, v = K2f[:, :p+1], V2f[:, :p+1]
    w = torch.softmax(torch.bmm(Qf[:, None], k.transpose(1,2))*0.25, -1)
    return torch.bmm(w, v)
def bmm16(p):
    k, v = K2[:, :p+1], V2[:, :p+1]
    w = torch.softmax(torch.bmm(Q[:, None], k.transpose(1,2)).float()*0.25, -1)
    return torch.bmm(w.to(dt), v)
# (B, P, W) layout, sdpa
K3 = K.view(P, B, H, hd).permute(1,2,0,3).contiguous(); V3 = V.view(P,B,H,hd).permute(1,2,0,3).contiguous()
Q3 = Q.view(B, H, 1, hd)
def sdpa(p):
    return torch.nn.functional.scaled_dot_product_attention(Q3, K3[:, :, :p+1], V3[:, :, :p+1])
K3f, V3f, Q3f = K3.float(), V3.float(), Q3.float()
def sdpa32(p):
    return torch.nn.functional.scaled_dot_product_attention(Q3f, K3f[:, :, :p+1], V3f[:, :, :p+1])
# float32 by-position: mul sum
Kf, Vf = K.float(), V.float()
def pos32(p):
    keys, values = Kf[:p+1], Vf[:p+1]
    s = (keys*Qf).sum(-1); w = torch.softmax(s*0.25, 0)[..., None]
    return (w*values).sum(0)
# einsum in bf16 by position
def eins(p):
    keys, values = K[:p+1], V[:p+1]
    s = torch.einsum('pnd,nd->pn', keys, Q).float()
    w = torch.softmax(s*0.25, 0)
    return torch.einsum('pn,pnd->nd', w.to(dt), values)
for f in [cur, bmm32, bmm16, sdpa, sdpa32, pos32, eins]:
    for p in range(P): f(p)
    t = time.perf_counter()
    for r in range(3):
        for p in range(P): f(p)
    print(f.__name__, f'{(time.perf_counter()-t)/3*1000:.1f} ms per row-pass of {P} steps')
