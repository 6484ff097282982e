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
    pe_id = "1201159..."      # optional: seed 002's DLT ids (TLVs 0x1400-0x1402), sent
    template_id = "1207..."   # with the message, so an HTTP user meets a route's DLT rule
    tm_id = "..."             # without TLVs of its own
"""

from dataclasses import dataclass

from ..tomlfile import TomlFile
from .restparse import sender_problem

DLT = ("pe_id", "template_id", "tm_id")
KEYS = ("text", "senderid") + DLT


@dataclass(frozen=True, slots=True)
class Template:
    text: str
    senderid: str = ""
    tlvs: tuple = ()     # ((DLT TLV name, text), ...) the message carries


def load_templates(path: str) -> dict:
    """{name: Template} of the file at path; raises ConfigError on the first problem."""
    tf = TomlFile(path)
    tables = tf.tables_under("templates", "[templates.NAME] tables")
    templates = {}
    for name, table in tables.items():
        where = ("templates", name)
        if type(table) is not dict:
            raise tf.error(where, "must be a table with text (and optionally senderid and "
                           "the DLT ids)")
        tf.only_keys(where, table, KEYS)
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
        tlvs = []
        for key in DLT:
            value = table.get(key, "")
            if type(value) is not str or (key in table and not value.strip()):
                raise tf.error(where + (key,), "must be a non-empty string (the id as "
                               "registered on the DLT platform)")
            if len(value) > 64:
                raise tf.error(where + (key,), "must be at most 64 characters")
            if value:
                tlvs.append((key, value))
        templates[name] = Template(text, senderid, tuple(tlvs))
    return templates
