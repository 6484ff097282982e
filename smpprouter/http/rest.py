"""Seed 004's REST API (to be built): POST /resources/v1/messaging and its status."""


def resources(door, config, reactor):
    """{path: Resource} this API serves."""
    return {}
