"""Render Changchun's quarterly briefing of a made-up history to PDF with LibreOffice, and its
first page to docs/briefing.png (every page is kept in var/pictures/briefing/ to look at).

Run by `make pictures`. Needs LibreOffice (soffice) and poppler-utils (pdftoppm).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import subprocess
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from asgi_lifespan import LifespanManager

from laborwatch import apps
from laborwatch.migrate import upgrade
from libs.common.auth import Role, create_key
from libs.common.bus import Outgoing
from libs.common.contracts import (
    CaseEvent,
    IncidentUpdated,
    IncidentWarning,
    MonitoringAlert,
    NotificationEvent,
    ReportReceived,
)
from libs.common.runtime import Runtime
from libs.common.settings import Settings
from scripts.insight_history import history

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "var" / "pictures" / "briefing"
NARRATIVE = {
    "factors": "建筑业工程款结算周期长、年底资金集中回笼，是欠薪风险上升的主要因素；"
    "部分制造业企业订单下降，裁员和解除劳动合同的信息有所增加。",
    "risks": "春节前农民工集中讨薪，个别在建工程项目存在群体性事件风险。",
    "trends": "预计下季度风险信息总量与本季度基本持平，欠薪类仍占多数。",
    "next_steps": "开展根治欠薪冬季专项行动；对红色、黄色预警事件逐件督办；"
    "提高各责任单位按时报送率。",
}


def _quarter(day: dt.date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


async def _briefing(database: str) -> bytes:
    settings = Settings(database_url=database, secret_key="pictures-" + "x" * 40, log_json=False)
    runtime = Runtime.from_settings(settings)
    _, key = await create_key(runtime.sessionmaker, runtime.registry, name="p", role=Role.ADMIN)
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
    events = list(history(dt.date(today.year - 1, 7, 1), today, per_day=1.3))
    app = apps.one(runtime, "insight")
    headers = {"Authorization": f"Bearer {key}"}
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
        await runtime.bus.publish(
            [Outgoing(topic=_topic(e.type), key=e.partitionkey, value=e.to_bytes()) for e in events]
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
            await _wait(client, headers, today)
            await client.post("/v1/reviews", json=_review(today), headers=headers)
            base = f"/v1/briefings/changchun/{_quarter(today)}"
            await client.put(f"{base}/narrative", json=NARRATIVE, headers=headers)
            r = await client.get(f"{base}.docx", headers=headers)
            r.raise_for_status()
            return r.content


def _topic(type_: str) -> str:
    models = (
        CaseEvent, IncidentUpdated, IncidentWarning, MonitoringAlert, NotificationEvent,
        ReportReceived,
    )  # fmt: skip
    return {m.type_: m.topic for m in models}[type_]


def _review(today: dt.date) -> dict[str, object]:
    return {
        "jurisdiction": "changchun",
        "held_at": f"{today - dt.timedelta(days=1)}T09:30:00+08:00",
        "kind": "regular",
        "attendees": ["领导小组办公室", "市住建局", "市总工会", "市公安局"],
        "incident_ids": [],
        "conclusions": "本季度欠薪类风险占比较高，总体可控；春节前讨薪风险需重点防范。",
        "measures": "住建部门督促总包单位落实工资专户和保证金制度。",
    }


async def _wait(client: httpx.AsyncClient, headers: dict[str, str], today: dt.date) -> None:
    """Until insight's figures stop moving (it has read every event)."""
    last = None
    params = {"jurisdiction": "changchun", "from": f"{today.year - 1}-07-01", "to": str(today)}
    for _ in range(600):
        r = await client.get("/v1/statistics", params=params, headers=headers)
        now = r.json()
        if now == last and now["reports"]["total"]:
            return
        last = now
        await asyncio.sleep(0.5)
    raise RuntimeError("insight did not catch up")


def main() -> None:
    """Render and keep the pictures."""
    for tool in ("soffice", "pdftoppm"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing (Debian: libreoffice-writer-nogui, poppler-utils)")
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as scratch:
        database = f"sqlite+aiosqlite:///{scratch}/pictures.db"
        upgrade(database)
        docx = OUT / "briefing.docx"
        docx.write_bytes(asyncio.run(_briefing(database)))
        profile = f"-env:UserInstallation=file://{scratch}/lo"
        subprocess.run(
            [
                "soffice",
                profile,
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                str(OUT),
                str(docx),
            ],
            check=True,
            capture_output=True,
            timeout=180,
        )
    subprocess.run(
        ["pdftoppm", "-png", "-r", "70", str(OUT / "briefing.pdf"), str(OUT / "page")], check=True
    )
    pages = sorted(OUT.glob("page-*.png"))
    shutil.copy(pages[0], ROOT / "docs" / "briefing.png")
    print(f"{len(pages)} pages in {OUT}; the first is docs/briefing.png")


if __name__ == "__main__":
    main()
