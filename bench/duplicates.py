"""Time the likely-duplicate check against a registry of N synthetic organisations.

    DATABASE_URL=sqlite:////tmp/bench.sqlite3 uv run python manage.py migrate
    DATABASE_URL=sqlite:////tmp/bench.sqlite3 uv run python manage.py seed_synthetic \\
        --organisations 10000
    DATABASE_URL=sqlite:////tmp/bench.sqlite3 uv run python bench/duplicates.py

Prints the time to build the finder once and the time per lookup (an import preview builds
one finder and looks up each new organisation; the admin add form does one lookup).
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")

import django  # noqa: E402

django.setup()

from closures.duplicates import DuplicateFinder  # noqa: E402
from closures.models import Organisation  # noqa: E402

LOOKUPS = 100

organisations = Organisation.objects.all()
started = time.perf_counter()
finder = DuplicateFinder(organisations)
built = time.perf_counter() - started
sample = list(organisations.order_by("?")[:LOOKUPS])
started = time.perf_counter()
hits = sum(
    bool(finder.find(name_en=o.name_en + " x", name_zh=o.name_zh, exclude_pk=o.pk)) for o in sample
)
per_lookup = (time.perf_counter() - started) / LOOKUPS
print(f"organisations: {len(finder.organisations)}")
print(f"finder built in {built:.2f}s; {per_lookup * 1000:.1f} ms per lookup")
print(f"near-miss lookups that found their original: {hits}/{LOOKUPS}")
