"""NumPy's developer tools (``numpy.f2py``, ``numpy.testing``) loaded when first used, not
whenever SciPy is imported.

SciPy (1.15 and later) imports a copy of NumPy's namespace when ``scipy.sparse`` is first
imported, asking NumPy for every attribute it lists; NumPy imports each lazy submodule
asked for. ``numpy.f2py`` (the Fortran wrapper generator, which compiles a few hundred
regular expressions) and ``numpy.testing`` (which imports ``unittest``) made 0.14 s of the
0.27 s that importing ``scipy.sparse`` took here, in every cxkb process that labels text:
a tenth of a 100k-row batch run. Neither is used at run time.

``defer_numpy_tools`` registers the two as lazy modules (the standard library's
``importlib.util.LazyLoader``): the copy holds them without loading them, and the first use
of either, by anyone, loads it in full. It does nothing for a module already imported or
that NumPy no longer has.
"""

from __future__ import annotations

import importlib.util
import sys

DEFERRED = ("f2py", "testing")


def defer_numpy_tools() -> None:
    """Make NumPy's developer tools lazy modules, if they are not loaded yet."""
    try:
        import numpy
    except ImportError:
        return
    for name in DEFERRED:
        full = f"numpy.{name}"
        if full in sys.modules or name in vars(numpy):
            continue
        try:
            spec = importlib.util.find_spec(full)
        except (ImportError, ValueError):
            continue
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            continue
        loader = importlib.util.LazyLoader(spec.loader)
        spec.loader = loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[full] = module
        loader.exec_module(module)
        setattr(numpy, name, module)
