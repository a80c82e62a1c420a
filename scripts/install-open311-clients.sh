#!/usr/bin/env bash
# The Open311 client library the registry-client test drives (requirements-open311-clients.txt: exact
# versions, every file's hash), from the Python package registry into .data/python-open311. Quick and
# silent when that same list is already installed there.
set -euo pipefail
cd "$(dirname "$0")/.."
target=.data/python-open311
requirements=requirements-open311-clients.txt
if cmp -s "$requirements" "$target/.installed-from.txt"; then
  echo "open311 clients: already installed in $target"
  exit 0
fi
echo "open311 clients: installing $requirements into $target"
# A Python without pip (Debian's python3 alone): pip from Debian's packages (CI runs as root).
if ! python3 -m pip --version >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq python3-pip >/dev/null
fi
rm -rf "$target"
# Pure-Python wheels only (platform "any"), so the listed hashes hold on any machine and Python 3.9+.
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-input --require-hashes \
  --only-binary=:all: --platform any --implementation py --abi none \
  --target "$target" -r "$requirements"
cp "$requirements" "$target/.installed-from.txt"
