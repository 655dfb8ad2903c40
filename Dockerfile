# monitor: multilingual news monitoring with offline translation and a daily digest.
#   docker build -t monitor .        (needs network once: PyPI, the PyTorch CPU index, the Argos index)
#   docker run --rm monitor --help
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# argostranslate -> stanza -> torch: install the CPU build first, or pip fetches a multi-GB CUDA build.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch

WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY monitor ./monitor
RUN pip install .

# The Swedish->English and Chinese->English models, at build time, so the container translates offline.
# `models install` reads translation.packages_dir from a config: a minimal one that names the folder.
RUN printf 'feeds: []\ntranslation:\n  packages_dir: /opt/argos-packages\n' > /tmp/models.yaml \
    && monitor --config /tmp/models.yaml models install sv en \
    && monitor --config /tmp/models.yaml models install zh en \
    && monitor --config /tmp/models.yaml models list \
    && rm /tmp/models.yaml

# Run unprivileged; the database lives in /data (a volume). The config is mounted at /etc/monitor/feeds.yaml
# and must set `translation: {packages_dir: /opt/argos-packages}` to use the models above.
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin monitor \
    && mkdir -p /data /etc/monitor && chown monitor /data
USER monitor
WORKDIR /data
VOLUME ["/data"]
ENV MONITOR_CONFIG=/etc/monitor/feeds.yaml

# `monitor run`: the daemon. SIGTERM (docker stop) lets feeds in flight finish for up to 30 s.
ENTRYPOINT ["monitor"]
CMD ["run"]
