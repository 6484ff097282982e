"""TOML files whose errors name the file, the line and the key.

tomllib parses but keeps no positions, and an operator told "users.esme1:
max_binds must be a positive integer" still has to hunt for it. This module
re-reads the text once to index where each table and key is defined, so
every validation error can say ``etc/smpprouter.toml:42: users.esme1.max_binds:
must be a positive integer``.
"""

import difflib
import re
import tomllib

_BARE = r"[A-Za-z0-9_-]+"
_KEY = r'(?:%s|"[^"\\]*(?:\\.[^"\\]*)*"|\'[^\']*\')' % _BARE
_DOTTED = r"%s(?:\s*\.\s*%s)*" % (_KEY, _KEY)
_TABLE = re.compile(r"^\s*\[\s*(%s)\s*\]" % _DOTTED)
_ARRAY_TABLE = re.compile(r"^\s*\[\[\s*(%s)\s*\]\]" % _DOTTED)
_ASSIGN = re.compile(r"^\s*(%s)\s*=" % _DOTTED)
_PART = re.compile(_KEY)


class ConfigError(Exception):
    """A configuration problem an operator can fix: where, which key, what is wrong."""

    def __init__(self, path: str, line: int | None, key: str, message: str):
        self.path, self.line, self.key, self.message = path, line, key, message
        where = path if line is None else "%s:%d" % (path, line)
        super().__init__("%s: %s%s" % (where, key + ": " if key else "", message))


def _split_key(dotted):
    return tuple(p.strip("\"'") for p in _PART.findall(dotted))


def _index_lines(text):
    """{key path tuple: line number}; array-of-table entries carry their index."""
    lines = {}
    counts = {}
    table = ()
    in_multiline = None
    for number, line in enumerate(text.splitlines(), 1):
        if in_multiline:
            if line.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        match = _ARRAY_TABLE.match(line)
        if match:
            name = _split_key(match.group(1))
            index = counts.get(name, 0)
            counts[name] = index + 1
            table = name + (index,)
            lines.setdefault(table, number)
            lines.setdefault(name, number)
            continue
        match = _TABLE.match(line)
        if match:
            table = _split_key(match.group(1))
            # A sub-table of the latest array-of-tables entry: [[mt]] then [mt.x].
            for name, count in counts.items():
                if table[:len(name)] == name:
                    table = name + (count - 1,) + table[len(name):]
            lines.setdefault(table, number)
            continue
        match = _ASSIGN.match(line)
        if match:
            lines.setdefault(table + _split_key(match.group(1)), number)
            rest = line[match.end():]
            for quote in ('"""', "'''"):
                if rest.count(quote) % 2 == 1:
                    in_multiline = quote
    return lines


class TomlFile:
    """A parsed TOML file that can point at the line of any key path."""

    def __init__(self, path: str):
        self.path = path
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except OSError as e:
            raise ConfigError(path, None, "", "cannot read: %s" % e.strerror) from None
        try:
            text = raw.decode("utf-8")
            self.data = tomllib.loads(text)
        except UnicodeDecodeError as e:
            raise ConfigError(path, None, "", "not UTF-8 text (%s)" % e.reason) from None
        except tomllib.TOMLDecodeError as e:
            line = None
            found = re.search(r"at line (\d+)", str(e))
            if found:
                line = int(found.group(1))
            raise ConfigError(path, line, "", "invalid TOML: %s" % e) from None
        self._lines = _index_lines(text)

    def line_of(self, *key) -> int | None:
        """The line defining key (or its closest enclosing table), if known."""
        key = tuple(key)
        while key:
            line = self._lines.get(key)
            if line is not None:
                return line
            key = key[:-1]
        return None

    def tables_under(self, root: str, what: str) -> dict:
        """The [root.NAME] tables of a file that holds nothing else (etc/'s
        templates and links files), as {NAME: table}; what names the form in
        errors, e.g. "[links.ID] tables"."""
        for name, value in self.data.items():
            if name != root:
                error = self.error((name,), "unknown table or key %r: %s are %s"
                                   % (name, root, what))
                if error.line is None and type(value) is dict and value:
                    # [a.b] defines "a" on no line: point at the first line inside it
                    error = ConfigError(error.path, self.line_of(name, next(iter(value))),
                                        error.key, error.message)
                raise error
        tables = self.data.get(root, {})
        if type(tables) is not dict:
            raise self.error((root,), "must be a table of %s" % what)
        return tables

    def only_keys(self, where: tuple, table: dict, known) -> None:
        """Refuses a key of table (at where) that is not in known, suggesting
        the closest one or else listing them."""
        for key in table:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                raise self.error(where + (key,), "unknown key %r%s" % (
                    key, "; did you mean %r?" % close[0] if close
                    else " (known keys: %s)" % ", ".join(known)))

    def error(self, key: tuple, message: str) -> ConfigError:
        """A ConfigError for the key path (strings and list indexes)."""
        dotted = ""
        for part in key:
            if isinstance(part, int):
                dotted += "[%d]" % part
            else:
                dotted += ("." if dotted else "") + part
        return ConfigError(self.path, self.line_of(*key), dotted, message)
