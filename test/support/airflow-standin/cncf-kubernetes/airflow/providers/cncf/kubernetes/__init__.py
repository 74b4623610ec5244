import os

__version__ = os.environ.get("STANDIN_CNCF_VERSION", "10.6.0")
