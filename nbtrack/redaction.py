"""The one rule that decides which values are secrets and must not be stored or printed.

A value is a secret when its *name* says so (``api_key``, ``db_password``, ``GITHUB_TOKEN``)
or its *value* has the shape of a well-known credential (``sk-...``, ``ghp_...``, an AWS
access key id, a JWT, a PEM private key, a URL with a password). Params and tags written
through the tracking service pass :func:`redact`; the environment filter of
:mod:`nbtrack.provenance` uses the same name rule and value shapes, plus a random-token
heuristic that only suits environment variables (on params it would hide run ids and
git hashes).

Names are matched by whole words, so ML vocabulary is not taken for secrets:
``max_tokens``, ``tokenizer``, ``n_tokens``, ``token_count``, ``pad_token`` and
``tokens_per_batch`` are ordinary names. Numbers, booleans and None are never secrets.

>>> redact({"api_key": "sk-live", "lr": 0.1, "max_tokens": 512})
({'api_key': '<redacted>', 'lr': 0.1, 'max_tokens': 512}, ['api_key'])
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

__all__ = ["REDACTED", "REDACTED_TAG", "has_secret_shape", "is_secret", "is_secret_name", "looks_like_secret", "redact"]

#: what a secret value is stored and shown as
REDACTED = "<redacted>"
#: system tag listing (comma-separated, sorted) the params and tags of a run whose values were redacted
REDACTED_TAG = "nbtrack.redacted"

# Words that make a name secret on their own (lower case, whole words of the name).
_SECRET_WORDS = frozenset({
    "password", "passwd", "passphrase", "pass", "secret", "token", "credential", "credentials",
    "creds", "auth", "cookie", "dsn", "apikey", "accesskey", "secretkey", "privatekey",
    "authtoken", "accesstoken", "bearer",
})  # fmt: skip
# Two-word names that are secret: "<first>_<second>" (api_key, private_key, connection_string).
_SECRET_PAIRS = frozenset({
    ("api", "key"), ("access", "key"), ("private", "key"), ("signing", "key"), ("encryption", "key"),
    ("master", "key"), ("ssh", "key"), ("client", "key"), ("connection", "string"),
})  # fmt: skip
# Words that make a name describe a quantity or a vocabulary item rather than a credential:
# max_token, token_count, pad_token, token_type, secret_len.
_ORDINARY_WORDS = frozenset({
    "max", "min", "n", "num", "count", "len", "length", "size", "per", "limit", "budget", "dim",
    "pad", "eos", "bos", "unk", "cls", "sep", "mask", "special", "start", "end", "stop", "type", "vocab",
})  # fmt: skip
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")

# Well-known credential shapes: GitHub, AWS access key ids, Slack, OpenAI/Anthropic,
# Hugging Face, GitLab, Google API keys, PyPI and npm tokens, JWTs, PEM private keys,
# and URLs with a password in them.
_SECRET_VALUE = re.compile(
    r"gh[pousr]_[A-Za-z0-9]{20,}|github_pat_\w{20,}|\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"
    r"|xox[abprs]-[A-Za-z0-9-]{10,}|\bsk-[A-Za-z0-9_-]{20,}|\bhf_[A-Za-z0-9]{20,}"
    r"|glpat-[A-Za-z0-9_-]{20,}|\bAIza[0-9A-Za-z_-]{30,}|pypi-[A-Za-z0-9_-]{20,}"
    r"|npm_[A-Za-z0-9]{20,}|\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY|://[^/\s:@]*:[^/\s@]+@"
)
_TOKEN_WORD = re.compile(r"[A-Za-z0-9]{16,}")
_MAX_DEPTH = 32


@lru_cache(maxsize=4096)  # the same few names are logged over and over (in loops, every cell)
def is_secret_name(name: str) -> bool:
    """True when ``name`` names a credential: a secret word (or pair) and no quantity word.

    ``DB_PASSWORD``, ``apiKey``, ``aws_access_key_id``, ``hf_token`` are secret;
    ``max_tokens``, ``token_count``, ``pad_token``, ``tokenizer`` are not.
    """
    words = [w.lower() for w in _WORD.findall(name)]
    if _ORDINARY_WORDS.intersection(words):
        return False
    return bool(_SECRET_WORDS.intersection(words)) or any(pair in _SECRET_PAIRS for pair in zip(words, words[1:]))


def has_secret_shape(text: str) -> bool:
    """True when ``text`` contains a well-known credential format (see the module docstring)."""
    return _SECRET_VALUE.search(text) is not None


def is_secret(name: str, value: Any, _depth: int = 0) -> bool:
    """The redaction rule for one param or tag: a non-empty text under a secret name, or
    any text (also inside lists and dicts, by key or value) shaped like a credential.

    Nesting deeper than :data:`_MAX_DEPTH` (or cyclic) is not looked into: the value check
    of :mod:`nbtrack.values` refuses such params anyway.
    """
    if isinstance(value, str):
        return bool(value) and (is_secret_name(name) or has_secret_shape(value))
    if _depth >= _MAX_DEPTH:
        return False
    if isinstance(value, Mapping):
        return any(is_secret(str(k), v, _depth + 1) or has_secret_shape(str(k)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(is_secret(name, item, _depth + 1) for item in value)
    return False  # numbers, booleans, None: a number is never a secret


def redact(mapping: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``mapping`` with secret values replaced by :data:`REDACTED`, and the redacted names."""
    names = [key for key, value in mapping.items() if is_secret(key, value)]
    if not names:
        return dict(mapping), []
    return {key: REDACTED if key in names else value for key, value in mapping.items()}, names


def looks_like_secret(value: str) -> bool:
    """True for values shaped like credentials or random tokens (the environment filter).

    Known formats (:func:`has_secret_shape`) are matched directly. Otherwise any run of
    16+ letters and digits that switches between letters and digits (or lower and upper
    case) on at least 30% of its characters, with 3+ bits of entropy per character, is
    taken for a random token. Path segments, run names and GPU UUIDs rarely mix that
    densely (and punctuation splits them into short runs); a false alarm only costs one
    unrecorded variable. This is a heuristic behind the allowlist, not a guarantee: about
    a third of random base64 tokens under 30 characters get split by ``-``/``_``/``+``/``/``
    into runs too short to judge. Not applied to params: run ids and git hashes look random.
    """
    if has_secret_shape(value):
        return True
    return any(_is_random_token(word) for word in _TOKEN_WORD.findall(value))


def _is_random_token(word: str) -> bool:
    has_digit = any(ch.isdigit() for ch in word)
    return has_digit and not word.isdigit() and _kind_changes(word) >= 0.3 and _entropy(word) >= 3.0


def _kind_changes(word: str) -> float:
    """Share of neighbouring characters switching between letter and digit, or lower to upper.

    Random tokens switch every other character; words, CamelCase and numbered names
    (``ResNet50``, ``Experiments2024``) seldom do.
    """
    changes = sum(a.isdigit() != b.isdigit() or (a.islower() and b.isupper()) for a, b in zip(word, word[1:]))
    return changes / (len(word) - 1)


def _entropy(word: str) -> float:
    """Shannon entropy in bits per character."""
    return -sum(n / len(word) * math.log2(n / len(word)) for n in Counter(word).values())
