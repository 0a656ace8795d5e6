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

# The commands' per-user caches (diskcache: decoded configs, installed plugins) go to one
# directory for the whole run, shared by every command the tests start (so it stays warm) and
# never the user's own ~/.cache/slurmshim, which the cache's pruning would otherwise thin out.
if "SLURMSHIM_TESTS_CACHE" not in os.environ:
    import atexit
    import shutil
    import tempfile

    os.environ["SLURMSHIM_TESTS_CACHE"] = tempfile.mkdtemp(prefix="slurmshim-tests-cache.")
    os.environ["XDG_CACHE_HOME"] = os.environ["SLURMSHIM_TESTS_CACHE"]
    atexit.register(shutil.rmtree, os.environ["SLURMSHIM_TESTS_CACHE"], True)
