"""Exceptions and warning categories shared by every part of bayestwin.

A bad value raises a subclass of `ValueError`, a wrong type a `TypeError`, so
callers that catch the built-in classes keep working.
"""

from __future__ import annotations


class BayestwinError(Exception):
    """Base class of every error raised on purpose by bayestwin."""


class CohortError(BayestwinError, ValueError):
    """Invalid cohort input: a file, row, column or value that cannot be used.

    Parameters
    ----------
    problems
        One `Problem` per finding, each naming the file, row, column and value.

    """

    def __init__(self, problems: list) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        lines = [f"{count} problem{'s' if count != 1 else ''} in the cohort:"]
        lines += [f"  - {problem}" for problem in self.problems[:50]]
        if count > 50:
            lines.append(f"  ... and {count - 50} more (see the `problems` attribute)")
        super().__init__("\n".join(lines))


class SpecError(BayestwinError, ValueError):
    """Invalid model specification: an unknown key, a bad value or a bad prior."""


class ScenarioError(BayestwinError, ValueError):
    """Invalid treatment scenario, strategy, horizon or patient request."""


class ConvergenceError(BayestwinError, RuntimeError):
    """A fit that failed the convergence gate was used where a converged fit is required."""


class BayestwinWarning(UserWarning):
    """Base class of bayestwin warnings."""


class DataWarning(BayestwinWarning):
    """A value that is possible but suspicious, kept as it is."""


class ConvergenceWarning(BayestwinWarning):
    """A fit that did not pass the convergence gate; its posterior may be biased."""
