#!/usr/bin/env bash
# Install Debian's chromium and chromedriver for the real-browser dashboard test
# (tests/test_browser.py). Idempotent: does nothing, silently, when both are already there.
# Debian's packages are used because the browser must come from the distribution, not from a
# separate download at test time.
set -euo pipefail

if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
    exit 0
fi

# Use sudo only when not root (CI and containers run as root, developers usually do not).
SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "install-browser.sh: need root or sudo to install chromium and chromium-driver" >&2
        exit 1
    fi
    SUDO=(sudo)
fi

echo "install-browser.sh: installing chromium and chromium-driver with apt-get" >&2
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null

for bin in /usr/bin/chromium /usr/bin/chromedriver; do
    if [[ ! -x "$bin" ]]; then
        echo "install-browser.sh: $bin is still missing after apt-get install" >&2
        exit 1
    fi
done
echo "install-browser.sh: $(/usr/bin/chromium --version 2>/dev/null || echo chromium installed)" >&2
