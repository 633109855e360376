"""The acquisition YAML format: reading, writing and walking one upload.

An acquisition YAML (``docs/acquisition-yaml.md``) describes what one upload
adds below an existing entity (the *origin*, a mouse or a sample)::

    version: 1
    project: demo
    origin: PZAH6.4b
    children:
      S20210420:
        type: session
        path: demo/PZAH6.4b/S20210420
        attributes: {date: '2021-04-20'}
        children:
          R152356_retinotopy:
            type: recording
            attributes: {protocol: retinotopy, recording_type: two_photon}
            children:
              overview_zoom1_00001:
                type: dataset
                dataset_type: scanimage
                path: demo/PZAH6.4b/S20210420/R152356_retinotopy
                is_raw: 'yes'
                created: '2021-04-20 15:23:56'
                extra_attributes: {acquisition: 1, tif_files: [...]}

Keys of ``children`` are short names: an entity's name on the database is its
parent's name, ``_`` and its key (``PZAH6.4b_S20210420_R152356_retinotopy``),
and its ``genealogy`` the keys from the mouse down.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..errors import SyncYmlError

#: Version of the format this flexiznam writes and reads.
FORMAT_VERSION = 1

#: Keys of the top level of the file.
TOP_KEYS = ("version", "project", "origin", "origin_type", "children")

#: Keys of an entity that is not a dataset.
ENTITY_KEYS = ("type", "path", "attributes", "children")

#: Keys of a dataset: ``type`` and the YAML form of a ``flexiznam.schema.Dataset``.
DATASET_KEYS = (
    "type",
    "dataset_type",
    "path",
    "is_raw",
    "created",
    "genealogy",
    "extra_attributes",
)

#: What an upload does with an entity whose name is taken.
CONFLICT_MODES = ("abort", "skip", "update", "overwrite")

#: Parent types each type may have (``origin`` types included).
ALLOWED_PARENTS = {
    "session": ("mouse", "sample"),
    "recording": ("session",),
    "sample": ("mouse", "sample"),
    "dataset": ("mouse", "sample", "session", "recording"),
}

HEADER = (
    f"# flexiznam acquisition YAML, version {FORMAT_VERSION}: see "
    "docs/acquisition-yaml.md.\n"
    "# Check it with `flexiznam check-yaml FILE`, then `flexiznam upload FILE`.\n"
)

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@dataclass
class Source:
    """An acquisition YAML as loaded: its data and, for a file, its text."""

    data: object
    text: str | None = None
    file: Path | None = None
    _lines: dict | None = None

    def line(self, keys: tuple) -> int | None:
        """Line (from 1) of the key at ``keys`` in the file, if known."""
        if self.text is None:
            return None
        if self._lines is None:
            self._lines = key_lines(self.text)
        while keys:
            if keys in self._lines:
                return self._lines[keys]
            keys = keys[:-1]
        return None


def load(source) -> Source:
    """Read an acquisition YAML.

    Parameters
    ----------
    source : dict, str or Path
        The data itself (a dict), or the path of a YAML file (str or Path).

    Returns
    -------
    Source

    Raises
    ------
    SyncYmlError
        If the file cannot be read or is not YAML.
    """
    if isinstance(source, Source):
        return source
    if not isinstance(source, str | Path):
        return Source(data=source)
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SyncYmlError(f"Cannot read {path}: {error}") from error
    try:
        data = parse(text)
    except yaml.YAMLError as error:
        raise SyncYmlError(f"{path} is not valid YAML: {error}") from error
    return Source(data=data, text=text, file=path)


def dump(data: dict) -> str:
    """The YAML text of an acquisition description, with its header comment."""
    from ..utils import clean_dictionary_recursively

    data = clean_dictionary_recursively(dict(data), format_dataset=True)
    body = yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=88,
    )
    return HEADER + body


def parse(text: str):
    """The data of a YAML text (PyYAML, with libyaml when installed)."""
    return yaml.load(text, Loader=_Loader)


def write(data: dict, path) -> Path:
    """Write an acquisition description to ``path``; returns the path."""
    path = Path(path)
    path.write_text(dump(data), encoding="utf-8")
    return path


def key_lines(text: str) -> dict[tuple, int]:
    """Line number (from 1) of every mapping key of a YAML text, by key path."""
    lines: dict[tuple, int] = {}
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError:
        return lines
    stack = [((), root)]
    while stack:
        keys, node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                path = keys + (key_node.value,)
                lines[path] = key_node.start_mark.line + 1
                stack.append((path, value_node))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                stack.append((keys + (index,), item))
    return lines


@dataclass
class Node:
    """One entity of an acquisition YAML, as met while walking the tree.

    Attributes
    ----------
    keys : tuple
        Where it is in the file: ``('children', 'S20210420', 'children', ...)``.
    chain : tuple of str
        Short names from the origin's child down to this entity.
    data : object
        Its mapping (anything, in a broken file).
    parent : Node or None
        The enclosing entity (None below the origin).
    """

    keys: tuple
    chain: tuple
    data: object
    parent: "Node | None"

    @property
    def short_name(self) -> str:
        return self.chain[-1]

    @property
    def type(self):
        return self.data.get("type") if isinstance(self.data, dict) else None

    @property
    def place(self) -> str:
        """``S20210420 > R152356_retinotopy``: the entity's names from the top."""
        return " > ".join(str(name) for name in self.chain)

    def full_name(self, origin: str) -> str:
        """Its name on the database below an origin named ``origin``."""
        return "_".join([origin, *map(str, self.chain)])


def walk(data) -> Iterator[Node]:
    """Every entity of the file, parents before their children, in file order.

    Malformed parts (a ``children`` that is not a mapping) are skipped; the
    checks of :mod:`flexiznam.camp.check` report them.
    """
    if isinstance(data, dict):
        yield from _walk(data.get("children"), (), (), None)


def _walk(children, keys: tuple, chain: tuple, parent) -> Iterator[Node]:
    if not isinstance(children, dict):
        return
    for name, value in children.items():
        node = Node(keys + ("children", name), chain + (name,), value, parent)
        yield node
        if isinstance(value, dict):
            yield from _walk(value.get("children"), node.keys, node.chain, node)


def count(data) -> int:
    """How many entities the file describes."""
    return sum(1 for _ in walk(data))


def new_document(project: str, origin: str, origin_type: str | None = None) -> dict:
    """An empty acquisition description (no children yet)."""
    document = {"version": FORMAT_VERSION, "project": project, "origin": origin}
    if origin_type:
        document["origin_type"] = origin_type
    document["children"] = {}
    return document
