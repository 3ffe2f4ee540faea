"""The floor: a bare FastAPI endpoint that parses the same body and answers 202, no I/O."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI

app = FastAPI()


@app.post("/v1/reports", status_code=202)
async def accept(report: dict[str, Any]) -> dict[str, str]:
    """Answer as intake would, without storing anything."""
    return {"id": str(uuid.uuid4()), "status": "received"}
