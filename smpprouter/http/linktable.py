"""The REST API's smart links ([http] links, e.g. etc/links.toml): link id ->
target URL and how long a message's short link to it lives.

A request's channels.smartlinks names link ids ({"linkid": 5, "validity": 30})
and its text holds {{link_5}}; each destination's message then carries its
own short link ([http] link_base + a token) that redirects to the target
(http/smartlinks.py). The file is read at start and on every reload of the
routing table (SIGHUP, `smpprouter reload`); every mistake in it is a
ConfigError naming the file, the line and the key, so a broken file stops
the router at start, and on a reload leaves the links in force as they were:

    [links.5]
    url = "https://shop.example.com/gift"   # required: http or https, with a host
    validity = 30      # optional: days a short link lives when the request gives no
                       # validity of its own (default 30; 1-365)
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

from ..tomlfile import TomlFile
from .linktext import LINK_ID

KEYS = ("url", "validity")
DEFAULT_VALIDITY = 30   # days: the seed's example
MAX_VALIDITY = 365      # days
MAX_URL = 2000          # characters: what every browser takes in a Location


@dataclass(frozen=True, slots=True)
class Link:
    url: str
    validity: int = DEFAULT_VALIDITY   # days


def url_problem(url) -> str | None:
    """Why url cannot be a link's target (it goes into a Location header as it is)."""
    if type(url) is not str or not url:
        return "must be a non-empty string"
    if len(url) > MAX_URL:
        return "must be at most %d characters" % MAX_URL
    if not url.isascii() or not url.isprintable() or " " in url:
        return "must be printable ASCII without spaces (percent-encode the rest)"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http:// or https:// URL with a host"
    return None


def load_links(path: str) -> dict:
    """{id: Link} of the file at path; raises ConfigError on the first problem."""
    tf = TomlFile(path)
    tables = tf.tables_under("links", "[links.ID] tables")
    links = {}
    for name, table in tables.items():
        where = ("links", name)
        if not LINK_ID.fullmatch(name):
            raise tf.error(where, "a link id is 1-32 letters, digits, _ or -, not %r" % name)
        if type(table) is not dict:
            raise tf.error(where, "must be a table with url (and optionally validity)")
        tf.only_keys(where, table, KEYS)
        if "url" not in table:
            raise tf.error(where, "url is required")
        problem = url_problem(table["url"])
        if problem:
            raise tf.error(where + ("url",), problem)
        validity = table.get("validity", DEFAULT_VALIDITY)
        if type(validity) is not int or not 1 <= validity <= MAX_VALIDITY:
            raise tf.error(where + ("validity",), "must be a whole number of days, 1-%d"
                           % MAX_VALIDITY)
        links[name] = Link(table["url"], validity)
    return links
