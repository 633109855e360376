"""Quick YAML for large acquisition files: a block-style writer and its reader.

PyYAML builds a Python node for every scalar and takes about a second to write
or read an acquisition of 2,000 datasets. These functions handle the plain
subset that :func:`dumps` writes (block mappings and sequences of strings,
numbers, booleans and nulls) in a fraction of that time. They are strict:
:func:`loads` raises :class:`Unsupported` on anything it does not read with
certainty exactly as PyYAML would (comments after values, flow collections,
anchors, tags, dates, other spellings of numbers and booleans...) and the
caller then uses PyYAML; :func:`dumps` raises it for values other than plain
data.
"""

import json
import re

#: Strings written without quotes: no YAML indicator, no other type on reading.
PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./+-]*(?: [A-Za-z0-9_./+()-]+)*$")
#: Words that PyYAML (YAML 1.1) reads as booleans, nulls or special floats.
NOT_STRINGS = re.compile(
    r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON"
    r"|off|Off|OFF|null|Null|NULL|~|[-+]?\.?(?:inf|Inf|INF|nan|NaN|NAN))$"
)
_INT = re.compile(r"^-?(?:0|[1-9][0-9]*)$")
_FLOAT = re.compile(r"^-?(?:0|[1-9][0-9]*)\.[0-9]+(?:e[-+][0-9]+)?$")
_SINGLE = re.compile(r"^'((?:[^']|'')*)'$")
_SPECIAL = {
    "null": None,
    "true": True,
    "false": False,
    ".inf": float("inf"),
    "-.inf": float("-inf"),
    ".nan": float("nan"),
}


class Unsupported(Exception):
    """Data or text outside the quick subset: use PyYAML."""


# ------------------------------------------------------------------ writing


def scalar(value) -> str:
    """The YAML text of a scalar, plain when that reads back the same."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return ".nan"
        if value in (float("inf"), float("-inf")):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value).lower()
        if "." not in text and "e" in text:
            text = text.replace("e", ".0e", 1)
        return text
    if isinstance(value, str):
        if PLAIN.match(value) and not NOT_STRINGS.match(value):
            return value
        if value.isprintable():
            return "'" + value.replace("'", "''") + "'"
        return json.dumps(value)
    raise Unsupported(value)


def dumps(data: dict) -> str:
    """Block-style YAML of plain data (a mapping with string keys at the top).

    Raises
    ------
    Unsupported
        For values other than dicts with string keys, lists, tuples, strings,
        numbers, booleans and None.
    """
    lines: list[str] = []
    _emit_mapping(data, 0, lines)
    return "\n".join(lines) + "\n"


def _emit_mapping(mapping: dict, indent: int, lines: list) -> None:
    pad = " " * indent
    for key, value in mapping.items():
        if not isinstance(key, str):
            raise Unsupported(key)
        key = scalar(key)
        if isinstance(value, dict) and value:
            lines.append(f"{pad}{key}:")
            _emit_mapping(value, indent + 2, lines)
        elif isinstance(value, list | tuple) and value:
            lines.append(f"{pad}{key}:")
            _emit_sequence(value, indent, lines)
        else:
            lines.append(f"{pad}{key}: {_empty_or_scalar(value)}")


def _emit_sequence(items, indent: int, lines: list) -> None:
    pad = " " * indent
    for item in items:
        if isinstance(item, dict) and item:
            nested: list[str] = []
            _emit_mapping(item, indent + 2, nested)
            lines.append(f"{pad}- {nested[0].lstrip()}")
            lines.extend(nested[1:])
        elif isinstance(item, list | tuple) and item:
            lines.append(f"{pad}-")
            _emit_sequence(item, indent + 2, lines)
        else:
            lines.append(f"{pad}- {_empty_or_scalar(item)}")


def _empty_or_scalar(value) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list | tuple):
        return "[]"
    return scalar(value)


# ------------------------------------------------------------------ reading


#: Values of the scalars met already (keys and values repeat a lot).
_KNOWN: dict = {}
_MAX_KNOWN = 100_000


def read_scalar(text: str):
    """The value of a scalar written by :func:`scalar` (else Unsupported)."""
    if text == "{}":
        return {}
    if text == "[]":
        return []
    try:
        return _KNOWN[text]
    except KeyError:
        pass
    value = _read_scalar(text)
    if len(_KNOWN) < _MAX_KNOWN:
        _KNOWN[text] = value
    return value


def _read_scalar(text: str):
    if text in _SPECIAL:
        return _SPECIAL[text]
    first = text[:1]
    if first == "'":
        match = _SINGLE.match(text)
        if match is None:
            raise Unsupported(text)
        return match.group(1).replace("''", "'")
    if first == '"':
        try:
            value = json.loads(text)
        except ValueError:
            raise Unsupported(text) from None
        if not isinstance(value, str):
            raise Unsupported(text)
        return value
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    if PLAIN.match(text) and not NOT_STRINGS.match(text):
        return text
    raise Unsupported(text)


def _split_key(content: str):
    """``(key, rest)`` of a ``key: value`` line, or None if it is no such line."""
    if content[:1] == "'":
        end = 1
        while True:
            end = content.find("'", end)
            if end < 0:
                return None
            if content[end + 1 : end + 2] == "'":
                end += 2
                continue
            break
        key, rest = content[: end + 1], content[end + 1 :]
    elif content[:1] == '"':
        try:
            _, end = json.JSONDecoder().raw_decode(content)
        except ValueError:
            return None
        key, rest = content[:end], content[end:]
    else:
        colon = content.find(":")
        if colon < 0:
            return None
        key, rest = content[:colon], content[colon:]
    if rest == ":":
        return read_scalar(key), ""
    if rest.startswith(": "):
        return read_scalar(key), rest[2:]
    return None


class _Lines:
    def __init__(self, text: str):
        self.items = []
        for line in text.split("\n"):
            content = line.lstrip(" ")
            if not content or content.startswith("#"):
                continue
            if content[0] == "\t" or content.startswith(("---", "...", "%")):
                raise Unsupported(line)
            if content != content.rstrip():
                raise Unsupported(line)
            self.items.append((len(line) - len(content), content))
        self.position = 0

    def peek(self):
        if self.position < len(self.items):
            return self.items[self.position]
        return None


def loads(text: str):
    """Read YAML text written by :func:`dumps` (or kept in its subset).

    Raises
    ------
    Unsupported
        At the first construct outside the subset; the caller uses PyYAML.
    """
    lines = _Lines(text)
    if lines.peek() is None or lines.peek()[0] != 0:
        raise Unsupported("no mapping at the top")
    data = _mapping(lines, 0, None)
    if lines.peek() is not None:
        raise Unsupported(lines.peek()[1])
    return data


def _is_item(content: str) -> bool:
    return content == "-" or content.startswith("- ")


def _mapping(lines: _Lines, indent: int, first: str | None) -> dict:
    """A block mapping at ``indent``; ``first`` is a line already taken."""
    result = {}
    while True:
        if first is not None:
            content, first = first, None
        else:
            line = lines.peek()
            if line is None or line[0] < indent:
                return result
            if line[0] > indent or _is_item(line[1]):
                if line[0] == indent:
                    return result
                raise Unsupported(line[1])
            content = line[1]
            lines.position += 1
        split = _split_key(content)
        if split is None:
            raise Unsupported(content)
        key, rest = split
        if not isinstance(key, str):
            raise Unsupported(content)
        if rest:
            result[key] = read_scalar(rest)
        else:
            result[key] = _block_value(lines, indent)


def _block_value(lines: _Lines, indent: int):
    """The value of ``key:`` with nothing after it: a nested block or null."""
    line = lines.peek()
    if line is None or line[0] < indent:
        return None
    if line[0] == indent:
        return _sequence(lines, indent) if _is_item(line[1]) else None
    if _is_item(line[1]):
        return _sequence(lines, line[0])
    return _mapping(lines, line[0], None)


def _sequence(lines: _Lines, indent: int) -> list:
    result = []
    while True:
        line = lines.peek()
        if line is None or line[0] != indent or not _is_item(line[1]):
            if line is not None and line[0] > indent:
                raise Unsupported(line[1])
            return result
        lines.position += 1
        rest = line[1][2:]
        if not rest:
            nested = lines.peek()
            if nested is None or nested[0] <= indent:
                result.append(None)
            elif _is_item(nested[1]):
                result.append(_sequence(lines, nested[0]))
            else:
                result.append(_mapping(lines, nested[0], None))
        elif _is_item(rest) or rest.startswith(" "):
            raise Unsupported(line[1])
        elif _split_key(rest) is not None:
            result.append(_mapping(lines, indent + 2, rest))
        else:
            result.append(read_scalar(rest))
