"""Static files: the console's own CSS/JS, and the npm packages installed in ``web/node_modules`` by ``make install``.

Only the files named here are served from ``node_modules`` (never the whole tree), with a long cache lifetime
because each URL carries the package version.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from leadflow.config import Settings
from leadflow.kit.errors import NotFound

router = APIRouter(prefix="/app/static", include_in_schema=False)
OWN = Path(__file__).parent / "static"
CHECKOUT_VENDOR = Path(__file__).resolve().parents[3] / "web" / "node_modules"
# URL name -> (npm package, file inside it)
VENDOR = {
    "htmx.min.js": ("htmx.org", "dist/htmx.min.js"),
    "Sortable.min.js": ("sortablejs", "Sortable.min.js"),
}
MEDIA = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


def vendor_dir(settings: Settings) -> Path:
    return settings.console_vendor_dir or CHECKOUT_VENDOR


@cache
def package_version(root: Path, package: str) -> str:
    try:
        return str(json.loads((root / package / "package.json").read_text())["version"])
    except (OSError, ValueError, KeyError):
        return "missing"


def vendor_url(settings: Settings, name: str) -> str:
    package, _ = VENDOR[name]
    return f"/app/static/vendor/{name}?v={package_version(vendor_dir(settings), package)}"


@router.get("/vendor/{name}")
async def vendor_file(name: str, request: Request) -> FileResponse:
    if name not in VENDOR:
        raise NotFound("no such file")
    package, inner = VENDOR[name]
    path = vendor_dir(request.app.state.settings) / package / inner
    if not path.is_file():
        raise NotFound(f"{package} is not installed: run `make install` (npm ci --prefix web)")
    return FileResponse(path, media_type=MEDIA[path.suffix], headers={"Cache-Control": "public, max-age=31536000"})


@router.get("/{name}")
async def own_file(name: str) -> FileResponse:
    path = OWN / name
    if "/" in name or name.startswith(".") or path.suffix not in MEDIA or not path.is_file():
        raise NotFound("no such file")
    return FileResponse(path, media_type=MEDIA[path.suffix], headers={"Cache-Control": "public, max-age=300"})
