"""Which webhook URLs the router may call.

A message's notifyurl comes from the request, so without a check any user
could make the router call what only the router can reach (its Redis, a
cloud metadata address, the operator's admin pages). Only http and https,
and no loopback, link-local, private, multicast or reserved address unless an
[http] webhook_allow network holds it. This module checks what the URL says;
the sender checks again every address the host name resolves to, just before
connecting (webhooks.py), so a name pointing inside is refused as well.
"""

import ipaddress
from urllib.parse import urlsplit

MAX_URL = 2048


def address_allowed(address, allow) -> bool:
    """May the router connect to this ip_address? allow: ip_networks opened."""
    if any(address in network for network in allow
           if network.version == address.version):
        return True
    if address.version == 6 and address.ipv4_mapped is not None:
        return address_allowed(address.ipv4_mapped, allow)
    return address.is_global and not address.is_multicast


def url_problem(url, allow=()) -> str | None:
    """Why url cannot be a webhook URL, or None when it can (as far as the URL
    itself tells: a host name is checked once resolved)."""
    if not isinstance(url, str) or not url:
        return "must be a non-empty string"
    if len(url) > MAX_URL:
        return "must be at most %d characters" % MAX_URL
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        return "is not a valid URL: %s" % e
    if parts.scheme not in ("http", "https"):
        return "must be an http:// or https:// URL"
    host = parts.hostname
    if not host:
        return "must name a host"
    if port == 0:
        return "must not name port 0"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if host == "localhost" or host.endswith(".localhost"):
            return "must not name a loopback host (see [http] webhook_allow)"
        return None
    if not address_allowed(address, allow):
        return ("must not name a loopback, link-local, private or reserved address "
                "(see [http] webhook_allow)")
    return None
