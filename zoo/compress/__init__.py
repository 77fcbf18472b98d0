"""Compression of trained zoo models.

    from zoo.compress import factorize, singular_values
    small, report = factorize(model, energy=0.9)

Modules:
    factorize: low-rank (SVD) factorization of trained projections and token
        tables (`factorize`, `singular_values`, `projections`, `choose_rank`).
        The package attribute `zoo.compress.factorize` is the function, which
        shadows the module's name: import from the module with
        `from zoo.compress.factorize import ...`, not `import ... as`.
    matrices: the matrix products of a block and their measured FLOPs.
    plots: spectra and metric-vs-compression figures (matplotlib).
"""

from zoo.compress.factorize import (
    EMBEDDING_PATTERN,
    PROJECTION_PATTERNS,
    FactorizationReport,
    Projection,
    choose_rank,
    factorize,
    projections,
    singular_values,
)

__all__ = [
    "EMBEDDING_PATTERN",
    "PROJECTION_PATTERNS",
    "FactorizationReport",
    "Projection",
    "choose_rank",
    "factorize",
    "projections",
    "singular_values",
]
