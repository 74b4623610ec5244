# Put first on PYTHONPATH, this hides the Debian kubernetes client the tests otherwise have:
# `import kubernetes` then fails exactly as in an image without it.
raise ModuleNotFoundError("No module named 'kubernetes'", name="kubernetes")
