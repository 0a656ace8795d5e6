"""Suite-wide settings.  In CI (CI=true) property tests run derandomized, so a landing never
depends on the luck of the draw; locally they explore new examples on every run."""
import os

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # hypothesis is a test dependency; without it the fuzz tests fail loudly
    pass
else:
    settings.register_profile("ci", derandomize=True, deadline=None,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.register_profile("dev", deadline=None)
    settings.load_profile("ci" if os.environ.get("CI") else "dev")
