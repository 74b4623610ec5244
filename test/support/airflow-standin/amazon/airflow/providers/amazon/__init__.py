import os

__version__ = os.environ.get("STANDIN_AMAZON_VERSION", "9.30.0")
