#!/usr/bin/env bash
# The browser tests' Chromium and the CJK fonts its screenshots need, from Debian's own packages,
# installed only where missing (CI runs as root on Debian; nothing else is fetched).
set -euo pipefail
missing=()
for pkg in chromium fonts-noto-cjk; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "browser: chromium and fonts-noto-cjk already installed"
  exit 0
fi
echo "browser: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y --no-install-recommends "${missing[@]}"
