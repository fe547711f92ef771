"""Run pytest down another road through the arithmetic: another BLAS kernel, no AVX-512, another seed.

``make test-portable`` (and CI, after ``make test``) runs the library's tests and every chapter under

- ``OPENBLAS_CORETYPE``: Haswell where the CPU has AVX-512 (OpenBLAS would pick SkylakeX or newer),
  Sandybridge elsewhere;
- ``NPY_DISABLE_CPU_FEATURES``: NumPy's AVX-512 dispatch targets, where the CPU has them;
- ``MATHGUIDE_SEED``: a non-default seed for every chapter and test (see ``mathguide.seeding``).

Before the tests it prints the OpenBLAS kernel that actually runs (read with threadpoolctl, in a fresh
interpreter with the same environment) and stops if OpenBLAS ignored the override.

Usage: ``python tools/portable.py [pytest arguments]``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

PORTABLE_SEED = os.environ.get("PORTABLE_SEED", "3")

_PROBE = """
import json
import numpy as np
import numpy._core._multiarray_umath as umath
import scipy.linalg  # noqa: F401  (loads SciPy's own OpenBLAS too)
import threadpoolctl
print(json.dumps({
    "blas": sorted({(i["internal_api"], i.get("architecture")) for i in threadpoolctl.threadpool_info()
                    if i["user_api"] == "blas"}),
    "numpy_dispatch": [f for f in umath.__cpu_dispatch__ if umath.__cpu_features__.get(f)],
}))
"""


def _probe(env: dict[str, str]) -> dict:
    output = subprocess.run([sys.executable, "-c", _PROBE], env=env, check=True, capture_output=True, text=True)
    return json.loads(output.stdout.strip().splitlines()[-1])


def portable_environment() -> dict[str, str]:
    """The current environment with the portable pass's kernel, CPU features and seed."""
    import numpy._core._multiarray_umath as umath

    features = umath.__cpu_features__
    env = dict(os.environ)
    env["OPENBLAS_CORETYPE"] = "Haswell" if features.get("AVX512F") else "Sandybridge"
    avx512 = [f for f in umath.__cpu_dispatch__ if features.get(f) and ("AVX512" in f or f == "X86_V4")]
    if avx512:
        env["NPY_DISABLE_CPU_FEATURES"] = " ".join(avx512)
    env["MATHGUIDE_SEED"] = PORTABLE_SEED
    return env


def main(argv: list[str]) -> int:
    default = _probe(dict(os.environ))
    env = portable_environment()
    forced = _probe(env)
    print(f"default road:  BLAS {default['blas']}, NumPy dispatch {default['numpy_dispatch']}")
    print(
        f"portable road: OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE']} "
        f"NPY_DISABLE_CPU_FEATURES={env.get('NPY_DISABLE_CPU_FEATURES', '')!r} MATHGUIDE_SEED={env['MATHGUIDE_SEED']}"
    )
    print(f"portable road: BLAS {forced['blas']}, NumPy dispatch {forced['numpy_dispatch']}", flush=True)
    wanted = env["OPENBLAS_CORETYPE"].lower()
    if not forced["blas"] or any(str(arch).lower() != wanted for _, arch in forced["blas"]):
        print(f"portable pass: OpenBLAS did not take the {env['OPENBLAS_CORETYPE']} kernel", file=sys.stderr)
        return 1
    return subprocess.run([sys.executable, "-m", "pytest", *argv], env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
