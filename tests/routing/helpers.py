"""Shared helpers for the routing tests: routes.toml text -> a loaded table."""

import os
import textwrap

from smpprouter.routing.interface import MORequest, MTRequest
from smpprouter.routing.table import load_routes

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHIPPED = os.path.join(REPO, "etc", "routes.toml")


def write(testcase, text):
    """Write dedented TOML to a fresh file of this test; return its path."""
    path = testcase.mktemp() + ".toml"
    with open(path, "w", encoding="utf-8") as f:
        f.write(textwrap.dedent(text).lstrip("\n"))
    return path


def table(testcase, text):
    return load_routes(write(testcase, text))


def mt(destination="15551234567", user="esme1", groups=(), source="12025550100",
       service_type=""):
    return MTRequest(user=user, groups=frozenset(groups), source_addr=source,
                     destination_addr=destination, service_type=service_type)


def mo(destination="12345", text="hello", connector="smsc", source="15551234567"):
    return MORequest(connector=connector, source_addr=source, destination_addr=destination,
                     text=text)
