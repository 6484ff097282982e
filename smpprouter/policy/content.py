"""Content rules (seed 002's 407 SPAM, "Sent illigal content"): the operator's
etc/content.toml, read at start and on reload with the routing table.

    [rules.NAME]
    words = ["free money"]        # case-insensitive, whole words (spaces: any blank)
    patterns = ['win\\s+\\d+ ?\\$'] # case-insensitive regular expressions
    users = ["esme1"]             # optional: only these users' messages; none: all

A message whose text matches any rule for its user is refused (core/mt.py,
hygiene.CONTENT). Each user gets one compiled alternation of every rule that
applies to it, a named group per rule, so a message costs one search and the
match names the rule for the counts; a user no rule applies to has no entry
and costs a dict lookup that finds nothing.
"""

import re

from ..tomlfile import TomlFile

KEYS = ("words", "patterns", "users")
_FLAGS = re.IGNORECASE | re.UNICODE
_BACKREFERENCE = re.compile(r"\\[1-9]|\(\?P=")


def load_content(path: str, users=None) -> dict:
    """{user: compiled regex} for the file at path, for the configured user
    names (users; None: any name the file gives is taken as is). Raises
    ConfigError naming the file, line and key on the first problem."""
    tf = TomlFile(path)
    tables = tf.tables_under("rules", "[rules.NAME] tables")
    rules = []   # (group name, alternation source, users or None)
    for index, (name, table) in enumerate(tables.items()):
        where = ("rules", name)
        if type(table) is not dict:
            raise tf.error(where, "must be a table with words and/or patterns")
        tf.only_keys(where, table, KEYS)
        words = [word_source(word) for word in _strings(tf, where, table, "words")]
        sources = []
        for pattern in _strings(tf, where, table, "patterns"):
            try:
                compiled = re.compile(pattern, _FLAGS)
            except re.error as e:
                raise tf.error(where + ("patterns",), "%r is no regular expression: %s"
                               % (pattern, e)) from None
            if compiled.groupindex or (compiled.groups and _BACKREFERENCE.search(pattern)):
                # the rules are one alternation: its groups are numbered and named anew
                raise tf.error(where + ("patterns",), "%r: no named groups or back "
                               "references (use (?:...))" % pattern)
            sources.append("(?:%s)" % pattern)
        if not sources and not words:
            raise tf.error(where, "needs words or patterns (a non-empty list)")
        only = None
        if "users" in table:
            only = frozenset(_strings(tf, where, table, "users"))
            unknown = sorted(only - set(users)) if users is not None else ()
            if unknown:
                raise tf.error(where + ("users",), "no such user %r" % unknown[0])
        rules.append(("r%d" % index, name, words, sources, only))
    return compile_rules(rules, users)


def _strings(tf, where, table, key):
    value = table.get(key, [])
    if (type(value) is not list or not all(type(v) is str and v.strip() for v in value)
            or (key in table and not value)):
        raise tf.error(where + (key,), "must be a non-empty list of non-empty strings")
    return value


def word_source(word: str) -> str:
    """A word or phrase as a regex, without the (?<!\\w) the alternation puts
    once before all words (re is twice as fast so): any run of blanks between
    its words, and no word character after it."""
    return r"%s(?!\w)" % r"\s+".join(re.escape(w) for w in word.split())


class Rules(dict):
    """{user: compiled regex}, and rule_names: {group name: rule name}."""
    rule_names: dict = {}


def compile_rules(rules, users) -> Rules:
    """rules: [(group, name, word sources, pattern sources, users or None)] ->
    Rules for these users (None: only the users the rules name, and "" for the
    global ones). Group "<g>w" is a rule's words, "<g>p" its patterns."""
    out = Rules()
    out.rule_names = {group + kind: name for group, name, _, _, _ in rules for kind in "wp"}
    if not rules:
        return out
    names = set(users) if users is not None else set()
    for _, _, _, _, only in rules:
        if only is not None and users is None:
            names |= only
    if users is None:
        names.add("")
    for user in names:
        applying = [rule for rule in rules if rule[4] is None or user in rule[4]]
        words = ["(?P<%sw>%s)" % (group, "|".join(w)) for group, _, w, _, _ in applying if w]
        patterns = ["(?P<%sp>%s)" % (group, "|".join(p)) for group, _, _, p, _ in applying
                    if p]
        if words:
            patterns.insert(0, r"(?<!\w)(?:%s)" % "|".join(words))
        if patterns:
            out[user] = re.compile("|".join(patterns), _FLAGS)
    return out


def matched_rule(rules: Rules, regex, text: str):
    """The name of the first rule the text matches, or None."""
    m = regex.search(text)
    if m is None:
        return None
    return rules.rule_names[m.lastgroup]
