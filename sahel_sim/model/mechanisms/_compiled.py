"""What the compiled (numba) kernels of the mechanism modules share.

A compiled kernel fuses the numpy formulation of a whole stage into one call, so a weekly step
pays one Python call where it paid dozens of small numpy calls (the model's arrays are a few
hundred cells: call overhead, not arithmetic, was the cost). Each one is checked against the
module's numpy formulation in tests/test_compiled_kernels.py, and adds, multiplies and
divides in the same order as it, so outputs are bit-identical:

- ``njit``: numba's ``njit`` with an on-disk cache (next to the sources, else numba's
  user-wide cache: the compile cost is paid once per installation, not per run or per sweep
  worker; each process still pays numba's import and set-up on its first kernel call) and
  numpy's error model (x / 0 is inf or nan, as in numpy, not an exception);
- ``pairwise_sum``: numpy's pairwise summation of a contiguous float64 vector
  (``numpy/_core/src/umath/loops_utils.h.src``: blocks of 128, eight accumulators), the
  order ``a.sum()`` and ``b.sum(axis=-1)`` add in; a sum over a leading axis adds row by row.

Random numbers are never drawn inside a compiled kernel: callers draw them from the model's
Generator and pass them in (STYLE.md 3).
"""

from __future__ import annotations

import functools
import sys
import threading

import numpy as np

_KERNELS: list[CompiledKernel] = []  # every kernel declared with ``njit``, in declaration order
_ACTIVE = False
_LOCK = threading.Lock()  # the browser app may step models from several threads


class CompiledKernel:
    """A kernel compiled on its first call. numba is imported then, not when the model is
    (importing numba imports yaml and LLVM: the model's import stays light, see
    tests/test_mechanisms.py). The first call of any kernel replaces every kernel, wherever a
    module holds it by name, with its numba dispatcher, so kernels that call each other are
    compiled against dispatchers; later calls reach numba directly."""

    def __init__(self, fn) -> None:
        self.py_func = fn
        self.dispatcher = None
        functools.update_wrapper(self, fn)
        _KERNELS.append(self)

    def __call__(self, *args):
        if not _ACTIVE:  # set once every kernel is in place (a kernel compiles against the others)
            activate()
        return self.dispatcher(*args)


def activate() -> None:
    """Hand every declared kernel to numba (cached on disk, numpy's error model) and put the
    dispatchers in place of the kernels in the package's modules."""
    global _ACTIVE
    with _LOCK:
        if _ACTIVE:
            return
        from numba import njit as numba_njit

        for k in _KERNELS:
            if k.dispatcher is None:
                k.dispatcher = numba_njit(cache=True, error_model="numpy")(k.py_func)
        swap = {id(k): k.dispatcher for k in _KERNELS}
        for name, module in list(sys.modules.items()):
            if name.startswith("sahel_sim.") and module is not None:
                for attr, value in list(vars(module).items()):
                    if isinstance(value, CompiledKernel):
                        setattr(module, attr, swap[id(value)])
        _ACTIVE = True


def njit(fn) -> CompiledKernel:
    """Declare ``fn`` a compiled kernel (nopython, cached on disk, numpy's floating-point error
    model), compiled on its first call."""
    return CompiledKernel(fn)


@njit
def _block_sum(a, lo, n):  # pragma: no cover - compiled
    """numpy's pairwise sum of at most 128 items: in order below 8, else eight accumulators."""
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[lo + i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    m = n - n % 8
    while i < m:
        j = lo + i
        r0 += a[j]
        r1 += a[j + 1]
        r2 += a[j + 2]
        r3 += a[j + 3]
        r4 += a[j + 4]
        r5 += a[j + 5]
        r6 += a[j + 6]
        r7 += a[j + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@njit
def pairwise_sum(a, lo, n):  # pragma: no cover - compiled
    """``a[lo:lo + n].sum()`` in numpy's order (``a`` float64, contiguous): blocks of at most
    128 items, halves (rounded to multiples of 8) added left + right. numpy recurses; numba
    cannot cache a recursive function used from other modules, so the halving tree is walked
    with explicit stacks."""
    if n <= 128:
        return _block_sum(a, lo, n)
    task_lo = np.empty(128, dtype=np.int64)
    task_n = np.empty(128, dtype=np.int64)
    task_split = np.zeros(128, dtype=np.bool_)
    values = np.empty(128)
    tp = 1
    vp = 0
    task_lo[0], task_n[0], task_split[0] = lo, n, False
    while tp > 0:
        t = tp - 1
        tlo, tn = task_lo[t], task_n[t]
        if tn <= 128:
            values[vp] = _block_sum(a, tlo, tn)
            vp += 1
            tp -= 1
        elif task_split[t]:  # both halves are done: left + right
            values[vp - 2] = values[vp - 2] + values[vp - 1]
            vp -= 1
            tp -= 1
        else:
            task_split[t] = True
            n2 = tn // 2
            n2 -= n2 % 8
            task_lo[tp], task_n[tp], task_split[tp] = tlo + n2, tn - n2, False  # right half, done second
            task_lo[tp + 1], task_n[tp + 1], task_split[tp + 1] = tlo, n2, False  # left half, done first
            tp += 2
    return values[0]
