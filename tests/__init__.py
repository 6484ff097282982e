"""The suite. Hypothesis runs with one profile for all of it: on a shared
2-core CI machine generating an input can take seconds, which says nothing
about the code under test, so time-based health checks and deadlines are off
(each property still has its own example count)."""

from hypothesis import HealthCheck, settings

settings.register_profile("smpprouter", deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("smpprouter")
