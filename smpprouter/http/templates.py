"""The REST API's message templates ([http] templates, e.g. etc/templates.toml).

A request's "message": {"template": "NAME"} sends the template's text (its
$(placeholders) filled from the request's values, restparse.py) from the
template's senderid when the request names none. The file is read once, when
the HTTP face starts, and every mistake in it is a ConfigError naming the
file, the line and the key, so a broken file stops the router at start
rather than failing requests one by one:

    [templates.NAME]
    text = "Hi $(name)"       # required, non-empty
    senderid = "INFO"         # optional
"""

import difflib
from dataclasses import dataclass

from ..tomlfile import ConfigError, TomlFile
from .restparse import sender_problem

KEYS = ("text", "senderid")


@dataclass(frozen=True, slots=True)
class Template:
    text: str
    senderid: str = ""


def load_templates(path: str) -> dict:
    """{name: Template} of the file at path; raises ConfigError on the first problem."""
    tf = TomlFile(path)
    for name, value in tf.data.items():
        if name != "templates":
            raise _error(tf, (name,), value, "unknown table or key %r: templates are "
                         "[templates.NAME] tables" % name)
    tables = tf.data.get("templates", {})
    if type(tables) is not dict:
        raise tf.error(("templates",), "must be a table of [templates.NAME] tables")
    templates = {}
    for name, table in tables.items():
        where = ("templates", name)
        if type(table) is not dict:
            raise tf.error(where, "must be a table with text (and optionally senderid)")
        for key in table:
            if key not in KEYS:
                close = difflib.get_close_matches(key, KEYS, n=1)
                raise tf.error(where + (key,), "unknown key %r%s" % (
                    key, "; did you mean %r?" % close[0] if close
                    else " (known keys: %s)" % ", ".join(KEYS)))
        text = table.get("text")
        if text is None:
            raise tf.error(where, "text is required")
        if type(text) is not str or not text:
            raise tf.error(where + ("text",), "must be a non-empty string")
        senderid = table.get("senderid", "")
        if type(senderid) is not str:
            raise tf.error(where + ("senderid",), "must be a string")
        problem = senderid and sender_problem(senderid)
        if problem:
            raise tf.error(where + ("senderid",), problem)
        templates[name] = Template(text, senderid)
    return templates


def _error(tf, key, value, message):
    """tf.error, pointing at the first line inside a table that has no line of
    its own ([template.a] defines "template" on no line)."""
    error = tf.error(key, message)
    if error.line is None and type(value) is dict and value:
        line = tf.line_of(*key, next(iter(value)))
        error = ConfigError(error.path, line, error.key, error.message)
    return error
