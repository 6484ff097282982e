"""Tests of the bench tools themselves (the simulator, the ESME client, the load generator)."""
