import os
import warnings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
warnings.filterwarnings("ignore")

try:
    import paddlenlp_ext  # noqa: F401  (before paddle: CPU settings, Auto registration)
except ModuleNotFoundError as e:  # a torch-only environment (tools/check_transformers_latest.sh): torch files only
    if e.name not in ("paddle", "paddlenlp"):
        raise


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: long-running (full-size shapes); CI runs them too unless -m 'not slow'")
