"""The stand-in app's tests (`python -m unittest discover -s tests -t .`).

With DEPLOY_TEST_STRICT=1 (the project's CI) a skipped test is a failure, whatever skipped it:
support.need, self.skipTest or a @unittest.skip decorator - CI can never go green by skipping.
"""

from __future__ import annotations

import os
import unittest

from tests.support import strict


class StrictResult:
    """Wraps a unittest result: in strict mode each skip is reported as a failure instead."""

    def __init__(self, result: unittest.TestResult):
        object.__setattr__(self, "_result", result)

    def __setattr__(self, name, value):
        # unittest keeps its class and module bookkeeping (_previousTestClass, _moduleSetUpFailed,
        # ...) on the result: it must land on the real one, or the run's last class never gets
        # its tearDownClass (a server a test class started would outlive the run)
        setattr(self._result, name, value)

    def addSkip(self, test, reason):
        error = AssertionError(f"strict mode (DEPLOY_TEST_STRICT=1): skipped: {reason}")
        self._result.addFailure(test, (AssertionError, error, None))

    def __getattr__(self, name):
        return getattr(self._result, name)


class StrictSuite(unittest.TestSuite):
    def run(self, result, debug=False):
        return super().run(StrictResult(result) if strict() else result, debug)


def load_tests(loader: unittest.TestLoader, standard_tests: unittest.TestSuite, pattern: str | None):
    here = os.path.dirname(__file__)
    found = loader.discover(start_dir=here, pattern=pattern or "test*.py",
                            top_level_dir=os.path.dirname(here))
    return StrictSuite([standard_tests, found])
