#!/usr/bin/env bash
# Render a real digest (the seed articles served over loopback, fetched by the real pipeline)
# to HTML and to a PNG in headless Chromium, to look at what a mail client would show.
#   bench/render_digest.sh [OUT_DIR]      (default bench/out/digest; needs `chromium` on PATH)
#   MODELS=1 bench/render_digest.sh ...   the same after the tiny test models (tests/argos_tiny.py) translate:
#                                         the layout with English snippets (the tiny models' English is noise)
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(realpath -m "${1:-bench/out/digest}")"
mkdir -p "$out"
rm -rf "$out/site"
.venv/bin/python - "$out" <<'PY'
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from monitor.config import load_config
from monitor.delivery import plan_digest
from monitor.storage import Store
from tests.support.httpserver import TestServer
from tests.support.digestsite import build_site, fetch, write_config

out = Path(sys.argv[1])
server = TestServer().start()
try:
    build_site(server)
    (out / "site").mkdir(parents=True, exist_ok=True)
    config_path = write_config(out / "site", server, "digest:\n  timezone: Europe/Stockholm\n  to: [desk@example.org]\n")
    fetch(config_path)
    config = load_config(config_path)
    if os.environ.get("MODELS"):
        from monitor.packages import install_package_file
        from tests import argos_tiny

        for code in ("sv", "zh"):
            built = argos_tiny.build_argosmodel(out / "site", code, "en")
            install_package_file(built, config.translation.packages_dir)
        subprocess.run([sys.executable, "-m", "monitor", "--config", str(config_path), "translate"], check=True)
    with Store(config.database) as store:
        plan = plan_digest(store, config, datetime.now(UTC))
finally:
    server.stop()
(out / "digest.html").write_text(plan.rendered.html, encoding="utf-8")
(out / "digest.txt").write_text(plan.rendered.text, encoding="utf-8")
print(f"{plan.rendered.subject}: {out / 'digest.html'}")
PY
for width in 900 420; do
  chromium --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
    --no-first-run --hide-scrollbars --screenshot="$out/digest-$width.png" --window-size="$width,2400" \
    "file://$out/digest.html" 2>/dev/null
done
ls -l "$out"/digest*
