"""Test-only submission module that fails to import (a dependency the user forgot)."""

from __future__ import annotations

import bench_module_that_does_not_exist  # noqa: F401
