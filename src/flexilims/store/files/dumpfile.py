"""The Flexilims project JSON, read and written one root entity at a time.

A dump is one JSON object of root entities keyed by name (see
``docs/flexilims-json.md``), and can be larger than memory would like:
:func:`read_roots` yields its ``(key, entity)`` pairs one by one, parsing each
root with the standard library's JSON decoder (which reads the ``NaN`` that
pandas writes for missing values, as ``json.load`` does), and
:func:`write_roots` writes roots as they come, byte for byte as
``orjson.dumps(whole, option=OPT_INDENT_2) + b"\\n"`` would have.
"""

import codecs
import json
import re
from collections.abc import Iterable, Iterator

import orjson

#: Bytes read at a time (more, doubling, while one value does not fit).
READ_SIZE = 1 << 22

_SPACE = re.compile(r"[ \t\n\r]*")


class NotAnObject(ValueError):
    """The file is valid JSON but not an object (of root entities)."""


class DumpDecodeError(json.JSONDecodeError):
    """Invalid JSON, located in the whole file (line, column, character)."""

    def __init__(self, msg: str, lineno: int, colno: int, pos: int):
        ValueError.__init__(self, f"{msg}: line {lineno} column {colno} (char {pos})")
        self.msg, self.doc, self.pos = msg, "", pos
        self.lineno, self.colno = lineno, colno

    def __reduce__(self):
        return type(self), (self.msg, self.lineno, self.colno, self.pos)


class _Text:
    """A window on the file's text: what is read and not yet consumed."""

    def __init__(self, stream):
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.text, self.pos, self.eof = "", 0, False
        #: Characters, lines and the column before ``text[0]``.
        self.offset, self.lines, self.column = 0, 0, 0
        self.more()
        if self.text.startswith("\ufeff"):
            self.pos = 1

    def more(self) -> None:
        """Drop what was consumed and read more (twice as much as the window
        holds, so that a large value is parsed a bounded number of times)."""
        if self.eof:
            return
        dropped = self.text[: self.pos]
        newlines = dropped.count("\n")
        if newlines:
            self.lines += newlines
            self.column = len(dropped) - dropped.rindex("\n") - 1
        else:
            self.column += len(dropped)
        self.offset += self.pos
        data = self.stream.read(max(READ_SIZE, 2 * (len(self.text) - self.pos)))
        self.eof = not data
        self.text = self.text[self.pos :] + self.decoder.decode(data, final=self.eof)
        self.pos = 0

    def space(self) -> str:
        """Skip white space; the next character ('' at the end of the file)."""
        while True:
            self.pos = _SPACE.match(self.text, self.pos).end()
            if self.pos < len(self.text) or self.eof:
                return self.text[self.pos : self.pos + 1]
            self.more()

    def value(self, decoder: json.JSONDecoder):
        """The JSON value at the current position."""
        while True:
            self.space()
            try:
                value, end = decoder.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as error:
                if self.eof or _final(error, self.text):
                    raise self.error(error.msg, error.pos) from None
                self.more()
                continue
            if end == len(self.text) and not self.eof:
                self.more()  # a number may go on in the next read
                continue
            self.pos = end
            return value

    def expect(self, characters: str, message: str) -> str:
        found = self.space()
        if not found or found not in characters:
            raise self.error(message, self.pos)
        self.pos += 1
        return found

    def error(self, message: str, pos: int) -> DumpDecodeError:
        before = self.text[:pos]
        newlines = before.count("\n")
        if newlines:
            line, column = self.lines + newlines + 1, pos - before.rindex("\n")
        else:
            line, column = self.lines + 1, self.column + pos + 1
        return DumpDecodeError(message, line, column, self.offset + pos)


def _final(error: json.JSONDecodeError, text: str) -> bool:
    """Whether more text could not mend the error: it lies well before the
    end of what was read, and not at a string's opening quote (a string may
    end in the text still to read)."""
    return error.pos + 64 < len(text) and text[error.pos] != '"'


def read_roots(stream) -> Iterator[tuple[str, object]]:
    """The ``(key, entity)`` pairs of a dump, one at a time, in file order.

    Parameters
    ----------
    stream : binary file
        UTF-8 JSON (a byte order mark is skipped).

    Raises
    ------
    json.JSONDecodeError
        The file is not valid JSON (:class:`DumpDecodeError`, located in the
        whole file); raised when the reading gets there.
    NotAnObject
        The file is valid JSON but not an object.
    UnicodeDecodeError
        The file is not UTF-8.
    """
    decoder = json.JSONDecoder()
    text = _Text(stream)
    if text.space() != "{":
        text.value(decoder)
        if text.space():
            raise text.error("Extra data", text.pos)
        raise NotAnObject("the file holds JSON, but not an object")
    text.pos += 1
    if text.space() == "}":
        text.pos += 1
    else:
        while True:
            if text.space() != '"':
                raise text.error(
                    "Expecting property name enclosed in double quotes", text.pos
                )
            key = text.value(decoder)
            text.expect(":", "Expecting ':' delimiter")
            yield key, text.value(decoder)
            if text.expect(",}", "Expecting ',' delimiter") == "}":
                break
    if text.space():
        raise text.error("Extra data", text.pos)


def write_roots(stream, roots: Iterable[tuple[str, dict]]) -> int:
    """Write ``(key, entity)`` pairs as one JSON object, two-space indented.

    The bytes are those of ``orjson.dumps(dict(roots), option=OPT_INDENT_2)``
    and a newline, written one root at a time.

    Returns
    -------
    int
        How many roots were written.
    """
    count = 0
    for key, entity in roots:
        stream.write(b",\n  " if count else b"{\n  ")
        stream.write(orjson.dumps(key))
        stream.write(b": ")
        stream.write(
            orjson.dumps(entity, option=orjson.OPT_INDENT_2).replace(b"\n", b"\n  ")
        )
        count += 1
    stream.write(b"\n}\n" if count else b"{}\n")
    return count
