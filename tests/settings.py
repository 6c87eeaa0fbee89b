"""The registry's settings for the test suite, with a throwaway secret key.

Without DEBUG the settings refuse to start unless DJANGO_SECRET_KEY is set; the suite runs
as production does (DEBUG off) and its key protects nothing, so it makes one per run.
Subprocesses started by the tests inherit it through the environment.
"""

import os
import secrets

os.environ.setdefault("DJANGO_SECRET_KEY", "test-" + secrets.token_urlsafe(40))

from registry.settings import *  # noqa: E402, F403
