"""The app's own settings, plus one calibration route (bench.urls). Used only by the benchmark's gunicorn."""

from iaze.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
