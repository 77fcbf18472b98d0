"""The base class of the errors a user can fix; it imports nothing, so any zoo module may use it.

Command-line runners (`recipes.common.run_main`, `zoo.training.cli.run_main`)
print a `ZooUserError` as one line, `error: ...`, instead of a traceback:
bad data (`zoo.data.DataError`), a run folder to resume
(`zoo.training.InterruptedRunError`), a strategy that cannot be set up
(`zoo.training.distribute.StrategyError`) and an export that fails its
parity check (`zoo.export.ExportParityError`).
"""


class ZooUserError(Exception):
    """An error the user can fix (its message says how); runners print it as one line."""
