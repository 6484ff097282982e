"""Seed 003's query-string API (to be built): /websmpp/websms and its status."""


def resources(door, config, reactor):
    """{path: Resource} this API serves."""
    return {}
