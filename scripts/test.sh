#!/usr/bin/env bash
# Run the test suite: bash scripts/test.sh [pytest arguments...]
#
# 1. Installs Dovecot (Debian package dovecot-imapd) when it is missing; the
#    integration tests start their own private Dovecot on 127.0.0.1.
#    Needs root, or sudo, for apt-get.
# 2. Installs this package with its test extra (pip output is only shown
#    when pip fails).
# 3. Lints mailflow/, tests/ and benchmarks/ with ruff and checks mailflow/'s types
#    with mypy, as pyproject.toml configures them; a finding fails the run before
#    any test starts.
# 4. Runs pytest with the given arguments.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

have_dovecot() {
    command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ]
}

if ! have_dovecot; then
    echo "scripts/test.sh: Dovecot is missing, installing dovecot-imapd with apt-get" >&2
    if [ "$(id -u)" -eq 0 ]; then
        as_root=()
    elif command -v sudo >/dev/null 2>&1; then
        as_root=(sudo)
    else
        echo "scripts/test.sh: need root or sudo to install dovecot-imapd" >&2
        exit 1
    fi
    "${as_root[@]}" apt-get update -q
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q dovecot-imapd
    if ! have_dovecot; then
        echo "scripts/test.sh: dovecot-imapd installed but no dovecot binary found" >&2
        exit 1
    fi
fi

pip_log="$(mktemp)"
trap 'rm -f "$pip_log"' EXIT
if ! PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore \
        python3 -m pip install -q --no-input -e '.[test]' >"$pip_log" 2>&1; then
    cat "$pip_log" >&2
    echo "scripts/test.sh: pip install -e '.[test]' failed" >&2
    exit 1
fi
rm -f "$pip_log"
trap - EXIT

python3 -m ruff check mailflow tests benchmarks
python3 -m mypy

exec python3 -m pytest "$@"
