"""Run the plugin's tests from a source tree: the plugin's directory goes first on sys.path,
so the package is importable whether or not it was pip-installed."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
