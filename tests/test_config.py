"""feeds.yaml loading: every mistake gives one clear message with file:line and the field."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config import Config, ConfigWatch, load_config, parse_duration
from monitor.errors import ConfigError

GOOD = """\
database: db/monitor.sqlite3
feeds:
  - name: Dagens PS
    url: https://www.dagensps.se/feed/
    language: sv
    interval: 30m
    tags: [sv, business]
  - name: DW
    url: https://rss.dw.com/rdf/rss-chi-all
    enabled: false
digest:
  time: "07:00"
  timezone: Europe/Stockholm
  to: [researcher@example.org]
  from: monitor@example.org
  smtp: {host: mail.example.org, security: starttls, username: me}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_watched_config_is_read_again_only_after_an_edit(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    watch = ConfigWatch(path)
    assert watch.changed() is None  # read when the watch began
    path.write_text(GOOD.replace("interval: 30m", "interval: 45m"), encoding="utf-8")
    edited = watch.changed()
    assert isinstance(edited, Config) and edited.feeds[0].interval == timedelta(minutes=45)
    assert watch.changed() is None
    path.write_text(GOOD.replace("interval: 30m", "interval: soon"), encoding="utf-8")
    broken = watch.changed()
    assert isinstance(broken, ConfigError) and f"{path}:6" in str(broken)  # the file and line of the mistake
    assert watch.changed() is None  # a broken edit is reported once, not on every look
    assert isinstance(watch.read(), ConfigError)  # read on demand (SIGHUP) whatever the stamp
    path.unlink()
    assert isinstance(watch.changed(), ConfigError)  # a file gone is an error, not the old config


def test_good_config_resolves_paths_against_its_folder(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert config.database == str(tmp_path / "db/monitor.sqlite3")
    assert [f.name for f in config.feeds] == ["Dagens PS", "DW"]
    assert [f.name for f in config.enabled_feeds] == ["Dagens PS"]
    ps = config.feeds[0]
    assert ps.language == "sv" and ps.interval == timedelta(minutes=30) and ps.tags == ("sv", "business")
    assert config.digest.timezone == "Europe/Stockholm" and config.digest.smtp.port == 587
    assert config.translation.packages_dir == tmp_path / "data" / "argos-packages"
    assert {w.name for w in config.watchlists} == {"chip-export-controls"}  # the shipped default


def test_the_shipped_feeds_yaml_is_valid() -> None:
    config = load_config(Path(__file__).resolve().parents[1] / "feeds.yaml")
    langs = {f.language for f in config.feeds}
    assert {"sv", "zh-Hant", "zh-Hans", "en"} <= langs
    assert any("dagensps.se" in f.url for f in config.feeds)
    assert any("rss.dw.com" in f.url for f in config.feeds)


BAD = [
    # (case, yaml, line, fragments expected in the message)
    ("bad yaml", "feeds:\n  - name: x\n    url: [unclosed\n", 4, ["invalid YAML"]),
    ("unknown top key", "feeds: []\ndatabse: x.db\n", 2, ["databse", "unknown key", "did you mean 'database'"]),
    ("unknown feed key", "feeds:\n  - url: https://a.test/f\n    intervall: 5m\n", 3,
     ["feeds[0].intervall", "did you mean 'interval'"]),
    ("wrong type", "feeds:\n  - url: https://a.test/f\n    enabled: maybe\n", 3, ["feeds[0].enabled", "true or false"]),
    ("feeds not a list", "feeds: {url: x}\n", 1, ["feeds", "expected a list"]),
    ("missing url", "feeds:\n  - name: x\n", 2, ["feeds[0].url", "required"]),
    ("duplicate url", "feeds:\n  - url: https://a.test/f\n  - url: https://a.test/f/\n", 3,
     ["duplicate feed URL", "line 2"]),
    ("bad url", "feeds:\n  - url: ftp://a.test/f\n", 2, ["not an http(s) URL"]),
    ("bad interval", "feeds:\n  - url: https://a.test/f\n    interval: often\n", 3, ["feeds[0].interval", "15m"]),
    ("too short interval", "feeds:\n  - url: https://a.test/f\n    interval: 5s\n", 3, ["at least 1 minute"]),
    ("bad time zone", "feeds: []\ndigest:\n  timezone: Europe/Stockholmm\n", 3, ["unknown time zone", "IANA"]),
    ("bad time", "feeds: []\ndigest:\n  time: '25:00'\n", 3, ["digest.time", "HH:MM"]),
    ("bad security", "feeds: []\ndigest:\n  smtp:\n    security: tls\n", 4, ["starttls"]),
    ("unknown watchlist field", "feeds: []\nwatchlists:\n  - name: w\n    termz: [a]\n", 4, ["termz"]),
    ("missing watchlist file", "feeds: []\nwatchlists:\n  - nothere.yaml\n", 3, ["nothere.yaml", "not found"]),
    ("duplicate key", "feeds: []\nfeeds: []\n", 2, ["duplicate key"]),
    ("empty file", "", None, ["empty"]),
    ("bad language", "feeds:\n  - url: https://a.test/f\n    language: swedish!\n", 3, ["not a language tag"]),
    ("unsupported database", "database: mysql://x/y\nfeeds: []\n", 1, ["unsupported database"]),
    ("postgres url without a database", "database: postgresql://me@db.example\nfeeds: []\n", 1,
     ["names no database", "postgresql://user@host/dbname"]),
    ("bad device", "feeds: []\ntranslation:\n  device: gpu\n", 3, ["translation.device", "cpu, cuda, auto"]),
    ("bad job tick", "feeds: []\njobs:\n  tick: soon\n", 3, ["jobs.tick", "not a duration"]),
    ("stalled before two heartbeats", "feeds: []\njobs:\n  heartbeat: 10s\n  stalled_after: 15s\n", 4,
     ["jobs.stalled_after", "two heartbeats"]),
    ("unknown jobs key", "feeds: []\njobs:\n  hearbeat: 5s\n", 3, ["jobs.hearbeat", "did you mean 'heartbeat'"]),
]


def test_postgresql_url_device_and_job_timings(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "database: postgresql://me@db.example:5433/monitor\nfeeds: []\n"
                                         "translation:\n  device: CUDA\njobs:\n  tick: 2\n  stalled_after: 1m\n"))
    assert config.database == "postgresql://me@db.example:5433/monitor"  # a URL, not a path under the config
    assert config.translation.device == "cuda"
    assert (config.jobs.tick, config.jobs.heartbeat, config.jobs.stalled_after) == (2.0, 10.0, 60.0)


@pytest.mark.parametrize(("case", "text", "line", "fragments"), BAD, ids=[b[0] for b in BAD])
def test_mistakes_name_file_line_and_field(
    tmp_path: Path, case: str, text: str, line: int | None, fragments: list[str]
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(str(path) if line is None else f"{path}:{line}:"), message
    for fragment in fragments:
        assert fragment in message, message
    assert "\n" not in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.yaml")


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("30m", 1800), ("1h30m", 5400), ("2 hours", 7200),
                                               ("1d", 86400)])
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


def test_a_bare_number_interval_is_minutes(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "feeds:\n  - url: https://a.test/f\n    interval: 45\n"))
    assert config.feeds[0].interval == timedelta(minutes=45)


@pytest.mark.parametrize("text", ["", "often", "5", "m5", "1h often"])
def test_not_durations(text: str) -> None:
    assert parse_duration(text) is None


def test_tags_written_as_one_string_with_commas_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  - name: PS\n    url: https://example.org/feed\n    tags: sv, business\n",
                    encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == (f"{path}:4: feeds[0].tags: 'sv, business' is one tag with a comma in it "
                                 "(hint: write a list: tags: [sv, business])")
    path.write_text("feeds:\n  - {name: PS, url: 'https://example.org/feed', tags: business}\n", encoding="utf-8")
    assert load_config(path).feeds[0].tags == ("business",)


def test_web_base_url_must_be_http(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("web: {base_url: 'https://monitor.example.org/'}\nfeeds: []\n", encoding="utf-8")
    assert load_config(path).web_base_url == "https://monitor.example.org"
    path.write_text("web:\n  base_url: monitor.example.org\nfeeds: []\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"feeds.yaml:2: web.base_url: expected an http\(s\) URL"):
        load_config(path)
