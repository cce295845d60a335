"""Authorization matrix, the platform settings: the effect of every allowed cell of these
routes. The table (and every refused cell) is in ``test_authorization_matrix``; the
world the cells run in, built once for this module with each cell in a savepoint of it,
in ``tests.authorization_world``. Beside test_platform_settings_api.py.
"""

import pytest

from domain.platform_settings import PARSERS
from models.platform import PlatformSetting
from tests.authorization_fixtures import *  # noqa: F403  (the cells' fixtures)
from tests.authorization_world import (
    CELL_ARGS,
    A,
    Check,
    audited,
    cells,
    reload,
    rows_of,
)
from tests.test_authorization_matrix import MATRIX


async def check_platform_settings(r, w, role, env):
    body = r.json()
    assert [item["key"] for item in body] == list(PARSERS)
    assert all(item["is_default"] and item["updated_by"] is None for item in body)


async def check_settings_changed(r, w, role, env):
    admin = w.callers[role]
    old = env.api.settings.platform_defaults()["refund_window_days"]
    changed = {item["key"]: item for item in r.json()}["refund_window_days"]
    assert (changed["value"], changed["updated_by"]) == (30, admin.id)
    stored = await reload(env, PlatformSetting, "refund_window_days")
    assert (stored.value, stored.updated_by) == (30, admin.id)
    assert await rows_of(env, PlatformSetting.key, where=[]) == [("refund_window_days",)]
    assert await audited(env, "platform_setting.update", "refund_window_days") == [
        (admin.id, {"old": old, "new": 30})
    ]


CHECKS: dict[tuple[str, str], Check] = {
    ("GET", A + "/settings"): check_platform_settings,
    ("PUT", A + "/settings"): check_settings_changed,
}


@pytest.mark.parametrize(CELL_ARGS, list(cells(MATRIX, allowed=True, routes=CHECKS)))
async def test_access(cell, method, path, role, expected):
    await cell.ask(method, path, role, expected, CHECKS[(method, path)])
