"""`${VAR}` references in environments/*.yaml: plain values and declared secrets.

A file names its secrets in a top-level list, as Kamal's `env: secret:` does:

    secrets: [DB_PASSWORD, JWT_SECRET]
    database:
      odbc: "...;Uid=${DB_USER};Pwd=${DB_PASSWORD}"

`${DB_PASSWORD}` (listed) is a secret: at least MIN_SECRET_LENGTH characters, registered with the
masker, and the string that uses it becomes a `Secret` that prints its plain parts with each secret
as ***. `${DB_USER}` (not listed) is a plain value: interpolated and printed as it is, any length.
A reference is refused when it would un-mask something by accident: a variable whose name says
secret (PASSWORD, SECRET, TOKEN, KEY) but is not listed, or a plain variable under an env-file key
whose name says so. `${VAR:-default}` keeps Compose's meaning; ${ROOT} and ${ENV} are context.
"""

from __future__ import annotations

import re
from typing import Any

from deploy.errors import ConfigError
from deploy.secrets import MASK, MIN_SECRET_LENGTH, Secret, register

REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SECRET_WORDS = ("PASSWORD", "SECRET", "TOKEN", "KEY")
SECRETS_KEY = "secrets"


def looks_secret(name: str) -> str | None:
    """The word that makes a name look like a secret's (PASSWORD, SECRET, TOKEN, KEY), or None."""
    upper = name.upper()
    return next((word for word in SECRET_WORDS if word in upper), None)


def declared_secrets(raw: dict, shown: str, context: dict[str, str]) -> frozenset[str]:
    """Take the top-level `secrets:` list out of the raw file and check it."""
    names = raw.pop(SECRETS_KEY, None)
    if names is None:
        return frozenset()
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ConfigError(f"{shown}: {SECRETS_KEY}: expected a list of variable names, like [DB_PASSWORD, JWT_SECRET]")
    for name in names:
        if not NAME.fullmatch(name):
            raise ConfigError(f"{shown}: {SECRETS_KEY}: {name!r} is not a variable name")
        if name in context:
            raise ConfigError(f"{shown}: {SECRETS_KEY}: {name} is set by the pipeline, not a secret")
    return frozenset(names)


def unused_secrets(raw: Any, names: frozenset[str]) -> list[str]:
    """Listed names no `${...}` in the file uses (a typo there would leave the real one plain)."""
    used: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str):
            used.update(m.group(1) for m in REF.finditer(node))

    walk(raw)
    return sorted(names - used)


class Resolver:
    """Resolves the references of one file: lookup is the process environment over .env."""

    def __init__(self, lookup: dict[str, str], context: dict[str, str], secrets: frozenset[str], shown: str):
        self.lookup, self.context, self.secrets, self.shown = lookup, context, secrets, shown

    def resolve(self, node: Any, where: tuple = ()) -> Any:
        if isinstance(node, dict):
            return {k: self.resolve(v, where + (k,)) for k, v in node.items()}
        if isinstance(node, list):
            return [self.resolve(v, where + (i,)) for i, v in enumerate(node)]
        if not isinstance(node, str) or "${" not in node:
            return node
        return self._string(node, where)

    def _string(self, text: str, where: tuple) -> Any:
        key = ".".join(str(p) for p in where)
        env_key = str(where[-1]) if len(where) >= 2 and where[-2] == "env" else None
        real, printed = [], []          # the value, and the value as printed (each secret as ***)
        secret_used, pos = False, 0
        for match in REF.finditer(text):
            var, default = match.group(1), match.group(2)
            literal = text[pos:match.start()]
            pos = match.end()
            value = self._value(var, default, key, env_key)
            if value is None:           # unset, with a default: the file's own text, not a secret
                real += [literal, default]
                printed += [literal, default]
            elif var in self.secrets:
                secret_used = True
                real += [literal, value]
                printed += [literal, MASK]
            else:
                real += [literal, value]
                printed += [literal, value]
        real.append(text[pos:])
        printed.append(text[pos:])
        value = "".join(real)
        return Secret(value, name=key, shown="".join(printed)) if secret_used else value

    def _value(self, var: str, default: str | None, key: str, env_key: str | None) -> str | None:
        """The variable's value, None when unset but a default is given; refusals as ConfigError."""
        if var in self.context:
            return self.context[var]
        secret = var in self.secrets
        if not secret:
            word = looks_secret(var)
            if word:
                raise ConfigError(f"{self.shown}: {key}: ${{{var}}} looks like a secret ({word} in its name): "
                                  f"list it under `{SECRETS_KEY}:` so it is masked")
            word = looks_secret(env_key) if env_key else None
            if word:
                raise ConfigError(f"{self.shown}: {key}: {env_key} looks like a secret ({word} in its name) but "
                                  f"${{{var}}} is plain: list it under `{SECRETS_KEY}:` so it is masked")
        value = self.lookup.get(var, "")
        if value == "":
            if default is not None:
                return None
            what = "secret " if secret else ""
            raise ConfigError(f"{self.shown}: {key}: {what}${{{var}}} is not set (export it or add it to .env)")
        if secret:
            if len(value) < MIN_SECRET_LENGTH:
                raise ConfigError(f"{self.shown}: {key}: secret ${{{var}}} is shorter than {MIN_SECRET_LENGTH} "
                                  "characters: too short to be masked in output")
            register(value)   # the value alone is masked too, wherever it turns up
        return value
