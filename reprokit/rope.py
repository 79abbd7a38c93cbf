"""Rotary position tables shared by both frameworks (numpy)."""
import numpy as np


def rope_tables(max_positions: int, key_size: int):
    """sin/cos of position * 10000^(-2i/key_size), [1, P, K/2], computed in float64 and rounded once to float32, so
    both frameworks hold the same table (their float32 sin differ by an ulp; the package computes in float32)."""
    positions = np.arange(max_positions, dtype=np.float64)
    inv_freq = np.power(10000.0, -2 * np.arange(key_size // 2, dtype=np.float64) / key_size)
    angles = positions[:, None] * inv_freq[None, :]
    return np.sin(angles)[None].astype(np.float32), np.cos(angles)[None].astype(np.float32)


def interleaved_rope_tables(max_positions: int, dim: int):
    """sin/cos [P, dim] for interleaved RoPE (each frequency repeated for its pair), float64 rounded once to
    float32: the GlobalPointer convention (base 10000)."""
    positions = np.arange(max_positions, dtype=np.float64)
    inv_freq = np.power(10000.0, -2 * np.arange(dim // 2, dtype=np.float64) / dim)
    angles = np.repeat(positions[:, None] * inv_freq[None, :], 2, axis=-1)
    return np.sin(angles).astype(np.float32), np.cos(angles).astype(np.float32)
