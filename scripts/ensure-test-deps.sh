#!/usr/bin/env bash
# The suite uses real parts: promtool checks /metrics and a real Prometheus scrapes it (both
# from the Debian package prometheus).
# Installs what is missing when it can (root with apt-get); otherwise says what to install.
set -euo pipefail

declare -A need=([promtool]=prometheus [prometheus]=prometheus)
missing=()
for cmd in "${!need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing test dependencies: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "The test suite needs these Debian packages: ${missing[*]}" >&2
  echo "Install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
