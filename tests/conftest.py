import os
import sys
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
warnings.filterwarnings("ignore")

import paddlenlp_ext  # noqa: E402,F401  (before paddle: CPU settings, Auto registration)


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: long-running (full-size shapes); CI runs them too unless -m 'not slow'")
