#!/usr/bin/env python3
"""Known-answer vectors for Toeplitz privacy amplification, written straight from the definition:

    bit k of a string is bit (k mod 8) of byte k/8;
    y_i = XOR_{j=0..n-1} (s_{i+n-1-j} AND x_j),  0 <= i < m,  with |s| = n+m-1.

Output (pa_kat.txt): one vector per line, "n m seed_hex x_hex y_hex", each hex string the bytes of
the packed bit string in file order (ceil(bits/8) bytes, unused top bits zero).
Run: python3 tests/distill/pa_kat.py > tests/distill/pa_kat.txt
"""
import random

SIZES = [(1, 1), (2, 1), (2, 2), (63, 1), (64, 1), (64, 64), (65, 1), (65, 64), (100, 37),
         (127, 127), (128, 64), (129, 65), (200, 199), (640, 320), (1000, 1), (1000, 500),
         (4099, 2048), (10000, 3333), (20000, 10000), (25001, 1)]


def bits_random(rng, count):
    return [rng.getrandbits(1) for _ in range(count)]


def pack(bits):
    out = bytearray((len(bits) + 7) // 8)
    for k, b in enumerate(bits):
        if b:
            out[k // 8] |= 1 << (k % 8)
    return bytes(out)


def toeplitz_literal(s, x, n, m):
    """The definition, one AND/XOR per term."""
    y = []
    for i in range(m):
        acc = 0
        for j in range(n):
            acc ^= s[i + n - 1 - j] & x[j]
        y.append(acc)
    return y


def toeplitz_parity(s, x, n, m):
    """Same sum, written as parity((s >> i) AND reverse(x)) on Python integers."""
    s_int = sum(b << k for k, b in enumerate(s))
    xr_int = sum(x[n - 1 - k] << k for k in range(n))
    return [bin((s_int >> i) & xr_int).count("1") & 1 for i in range(m)]


def main():
    rng = random.Random(20261122)
    for n, m in SIZES:
        s = bits_random(rng, n + m - 1)
        x = bits_random(rng, n)
        y = toeplitz_parity(s, x, n, m)
        if n * m <= 300000:
            assert y == toeplitz_literal(s, x, n, m)
        print(n, m, pack(s).hex(), pack(x).hex(), pack(y).hex())


if __name__ == "__main__":
    main()
