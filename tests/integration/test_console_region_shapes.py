"""Region shapes are data: a bureau's GeoJSON beside its jurisdiction file draws the
dashboard's map; without one (Xuan'en's townships), the schematic tile map."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx

from libs.common.auth import Role
from libs.common.jurisdictions import BUILT_IN_DIR
from services.console.users import change_password, create_user
from tests.conftest import console_sign_in, make_settings, running

NEW = "长春市-劳动关系-2026"


def _square(name: str, x: float) -> dict[str, object]:
    ring = [[x, 43.8], [x + 0.1, 43.8], [x + 0.1, 43.9], [x, 43.9], [x, 43.8]]
    return {
        "type": "Feature",
        "properties": {"name": name},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


async def _signed_in(client: httpx.AsyncClient, name: str) -> None:
    r = await console_sign_in(client, name, NEW)
    assert r.status_code == 303 and r.headers["location"] == "/console/", r.text


async def test_a_supplied_geojson_draws_the_map_and_the_others_keep_the_tiles(
    tmp_path: Path, sqlite_url: str
) -> None:
    folder = tmp_path / "jurisdictions"
    shutil.copytree(BUILT_IN_DIR, folder)
    shapes = {"type": "FeatureCollection", "features": [_square("南关区", 125.3)]}
    (folder / "changchun.geojson").write_text(json.dumps(shapes, ensure_ascii=False))
    settings = make_settings(database_url=sqlite_url, jurisdictions_dir=folder)
    async with running(settings) as system:
        db = system.runtime.sessionmaker
        user, once = await create_user(db, system.runtime.registry, name="geo", role=Role.ADMIN)
        assert await change_password(db, user.id, old=once, new=NEW) is None
        await _signed_in(system.client, "geo")
        page = await system.client.get("/console/?j=changchun")
        assert page.status_code == 200
        assert 'id="regionmap"' in page.text
        assert 'data-geo="/console/geo/changchun.geojson"' in page.text
        served = await system.client.get("/console/geo/changchun.geojson")
        assert served.status_code == 200
        assert served.json()["features"][0]["properties"]["name"] == "南关区"
        tiles = await system.client.get("/console/?j=xuanen")
        assert 'id="regionmap"' not in tiles.text and "椒园镇" in tiles.text
        assert (await system.client.get("/console/geo/xuanen.geojson")).status_code == 404
