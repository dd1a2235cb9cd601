#!/usr/bin/env bash
# All set-up on a fresh Debian 12 machine, idempotent and quick when nothing is missing:
#   - the Debian packages mynacard uses (pcscd + vsmartcard's vpcd for the virtual reader,
#     vsmartcard's vicc for the compatibility test, OpenSC as an independent client, the PC/SC headers pyscard builds against, a Japanese font
#     for the card face, the compiler and venv support pyscard's build needs; poppler's pdfsig and
#     NSS's certutil as the independent validator of PAdES signatures; for the kiosk: CUPS with the
#     cups-pdf printer, Debian's chromium for the browser tests, espeak-ng);
#   - a virtual environment in .venv with mynacard installed (editable) with its test and dev
#     tools and the pdf extra (pyHanko, for PAdES), every version pinned by requirements.lock (pip
#     constraints; tools/update-lock.sh re-resolves it after a dependency change in pyproject.toml).
# Used by both README commands; safe to run again at any time.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  pcscd vsmartcard-vpcd vsmartcard-vpicc python3-virtualsmartcard libpcsclite-dev opensc opensc-pkcs11 pcsc-tools
  fonts-ipafont-gothic openssl gcc python3-venv python3-dev procps poppler-utils libnss3-tools
  cups cups-client printer-driver-cups-pdf chromium espeak-ng
  wrk postgresql zbar-tools nginx
)

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  # Another setup (or unattended-upgrades) may hold dpkg's lock: wait for it rather than fail.
  LOCK_WAIT=(-o DPkg::Lock::Timeout=900)
  $SUDO apt-get "${LOCK_WAIT[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get "${LOCK_WAIT[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "setup: mynacard needs Python 3.11 or newer; $PYTHON is $("$PYTHON" --version 2>&1)" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv" >&2
  "$PYTHON" -m venv .venv
fi

# Reinstall only when the project's metadata or the lock changed since the last install.
stamp=.venv/.mynacard-installed
want=$(cat pyproject.toml requirements.lock | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || ! .venv/bin/python -c 'import mynacard.main' 2>/dev/null; then
  echo "setup: installing mynacard into .venv (pyscard builds from source the first time)" >&2
  .venv/bin/python -m pip install -q --disable-pip-version-check -c requirements.lock -e '.[test,dev,pdf]' \
    2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
  echo "$want" > "$stamp"
fi
