"""The exceptions every task maps to one exit code (shared/DESIGN.md)."""

from __future__ import annotations

# Exit codes, the same for every task.
EXIT_OK = 0
EXIT_FAILED = 1        # a gate, check or step failed (and was undone)
EXIT_BAD_INPUT = 2     # bad input or configuration; nothing changed
EXIT_LOCKED = 3        # another deploy holds the lock
EXIT_NOT_YET = 4       # a gate is not yet satisfied (e.g. soak time left); retry later


class DeployError(Exception):
    """Base class: carries the exit code the task ends with."""

    exit_code = EXIT_FAILED


class ConfigError(DeployError):
    """Bad configuration or input: one line naming what is wrong."""

    exit_code = EXIT_BAD_INPUT


class StepFailed(DeployError):
    """A gate, check or step failed."""

    exit_code = EXIT_FAILED


class HostUnreachable(StepFailed):
    """A host could not be reached (network, auth or host key)."""


class LockHeld(DeployError):
    """Another deploy holds the deploy lock."""

    exit_code = EXIT_LOCKED


class GateNotYet(DeployError):
    """A time gate has not passed yet; CI may retry later."""

    exit_code = EXIT_NOT_YET
