#!/usr/bin/env python3
"""Writes a copy of a GGUF model whose vocabulary is cut to its first N rows
(token_embd / output), without tokenizer metadata: the same layers in a file
small enough to carry to a device machine for backend comparisons.
usage: gguf_shrink_vocab.py in.gguf out.gguf [N=8192]"""
import struct, sys

SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
BLOCK = {0: (1, 4), 1: (1, 2), 30: (1, 2), 2: (32, 18), 6: (32, 22), 8: (32, 34), 12: (256, 144),
         13: (256, 176), 14: (256, 210)}

def main():
    src, dst = sys.argv[1], sys.argv[2]
    nv = int(sys.argv[3]) if len(sys.argv) > 3 else 8192
    b = open(src, 'rb').read()
    pos = 0
    def rd(fmt):
        nonlocal pos
        v = struct.unpack_from('<' + fmt, b, pos)
        pos += struct.calcsize('<' + fmt)
        return v[0]
    def rstr():
        nonlocal pos
        n = rd('Q'); s = b[pos:pos + n]; pos += n
        return s
    def skip_val(t):
        nonlocal pos
        if t == 8: rstr()
        elif t == 9:
            et = rd('I'); n = rd('Q')
            for _ in range(n): skip_val(et)
        else: pos += SIZES[t]
    assert b[:4] == b'GGUF'
    pos = 4
    ver = rd('I'); nt = rd('Q'); nkv = rd('Q')
    kvs, align = [], 32
    for _ in range(nkv):
        k0 = pos; key = rstr(); t = rd('I'); v0 = pos; skip_val(t)
        if key == b'general.alignment': align = struct.unpack_from('<I', b, v0)[0]
        if not key.startswith(b'tokenizer.'): kvs.append(b[k0:pos])
    tensors = []
    for _ in range(nt):
        name = rstr(); nd = rd('I'); ne = [rd('Q') for _ in range(nd)]; ty = rd('I'); off = rd('Q')
        tensors.append([name, ne, ty, off])
    data0 = (pos + align - 1) // align * align
    out_t, blobs, off = [], [], 0
    for name, ne, ty, o in tensors:
        bs, ts = BLOCK[ty]
        nel = 1
        for x in ne: nel *= x
        nbytes = nel // bs * ts
        blob = b[data0 + o: data0 + o + nbytes]
        if name in (b'token_embd.weight', b'output.weight') and ne[1] > nv:
            row = ne[0] // bs * ts
            ne = [ne[0], nv]; blob = blob[:row * nv]
        out_t.append((name, ne, ty, off)); blobs.append(blob)
        off = (off + len(blob) + align - 1) // align * align
    hdr = bytearray(b'GGUF' + struct.pack('<IQQ', ver, len(out_t), len(kvs)))
    for kv in kvs: hdr += kv
    for name, ne, ty, o in out_t:
        hdr += struct.pack('<Q', len(name)) + name + struct.pack('<I', len(ne))
        hdr += b''.join(struct.pack('<Q', x) for x in ne) + struct.pack('<IQ', ty, o)
    hdr += b'\0' * ((-len(hdr)) % align)
    with open(dst, 'wb') as f:
        f.write(hdr)
        for (name, ne, ty, o), blob in zip(out_t, blobs):
            f.seek(len(hdr) + o); f.write(blob)

main()
