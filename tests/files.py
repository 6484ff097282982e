"""A file of the tests' own, removed when the test ends."""

import os
import tempfile


def write_temp(test, text, suffix=".toml"):
    """The path of a new file holding text (etc/'s files are TOML)."""
    fd, path = tempfile.mkstemp(suffix=suffix)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    test.addCleanup(os.unlink, path)
    return path
