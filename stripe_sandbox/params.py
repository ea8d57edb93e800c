"""Form decoding the way Stripe's API reads the SDK's bodies, and a tiny schema language for validation.

Stripe refuses unknown parameters (nested ones too) and missing required ones; emulating that catches typos in
the app that a permissive fake would hide. Schemas are plain Python literals:

* ``"str"``, ``"int"``, ``"bool"``, ``"meta"`` (metadata: str -> str, ``""`` unsets), ``"any"``;
* a tuple of strings is an enum;
* a dict is a nested hash, a key starting with ``!`` is required;
* a one-element list is an array (``a[0][b]`` or ``a[]``).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from .errors import StripeError, invalid

Schema = Any

_TOKEN = re.compile(r"\[([^\]]*)\]")


def decode_form(body: str) -> dict[str, Any]:
    """Turn ``a[b][0][c]=x`` pairs into nested dicts; arrays stay dicts keyed by index until validation."""
    out: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        head, _, rest = key.partition("[")
        parts = [head] + (_TOKEN.findall("[" + rest) if rest else [])
        node = out
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if part == "":
                part = str(len(node))
            if last:
                node[part] = value
            else:
                nxt = node.get(part)
                if not isinstance(nxt, dict):
                    nxt = {}
                    node[part] = nxt
                node = nxt
    return out


def _path(prefix: str, key: str) -> str:
    return f"{prefix}[{key}]" if prefix else key


def validate(data: Any, schema: Schema, path: str = "") -> Any:
    """Check ``data`` against ``schema`` and coerce strings to ints/bools; raise Stripe's 400 on mismatch."""
    if isinstance(schema, dict):
        if data == "":
            return None
        if not isinstance(data, dict):
            raise invalid("Invalid object", param=path)
        result: dict[str, Any] = {}
        known = {k.lstrip("!"): v for k, v in schema.items()}
        for key in data:
            if key not in known:
                raise StripeError(400, f"Received unknown parameter: {_path(path, key)}", param=_path(path, key))
        for raw_key, sub in schema.items():
            key = raw_key.lstrip("!")
            if key in data:
                result[key] = validate(data[key], sub, _path(path, key))
            elif raw_key.startswith("!"):
                p = _path(path, key)
                raise StripeError(400, f"Missing required param: {p}.", code="parameter_missing", param=p)
        return result
    if isinstance(schema, list):
        if data == "":
            return []
        if isinstance(data, dict):
            try:
                items = [data[k] for k in sorted(data, key=int)]
            except ValueError:
                raise invalid("Invalid array", param=path) from None
        elif isinstance(data, list):
            items = data
        else:
            raise invalid("Invalid array", param=path)
        return [validate(item, schema[0], f"{path}[{i}]") for i, item in enumerate(items)]
    if isinstance(schema, tuple):
        if data not in schema:
            options = ", ".join(f"`{s}`" for s in schema)
            raise invalid(f"Invalid {path}: must be one of {options}", param=path)
        return data
    if schema == "meta":
        if data == "":
            return {}
        if not isinstance(data, dict):
            raise invalid("Invalid metadata: metadata must be a hash", param=path)
        for k, v in data.items():
            if not isinstance(v, str):
                raise invalid(f"Invalid value for {_path(path, k)}", param=_path(path, k))
        return dict(data)
    if schema == "any":
        return data
    if isinstance(data, dict):
        raise invalid(f"Invalid {schema}", param=path)
    if schema == "int":
        try:
            return int(data)
        except (TypeError, ValueError):
            raise StripeError(400, f"Invalid integer: {data}", code="parameter_invalid_integer", param=path) from None
    if schema == "bool":
        if data in ("true", True):
            return True
        if data in ("false", False):
            return False
        raise invalid(f"Invalid boolean: {data}", param=path)
    if schema == "str":
        return None if data == "" else str(data)
    return data


LIST_PARAMS: dict[str, Schema] = {
    "limit": "int",
    "starting_after": "str",
    "ending_before": "str",
    "created": "any",
}
