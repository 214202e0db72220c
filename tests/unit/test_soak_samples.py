"""`paspor bench soak`: what each sample holds, its CSV, and its chart."""

from __future__ import annotations

import os
from pathlib import Path

from benchmarks.soak_chart import draw
from benchmarks.soak_sample import Sampler, open_files, rss_mb, write_csv
from paspor.load.records import Attempt

SLOT = ("GRESIK", "2026-12-14", "pagi")


def answered_in(ms: float) -> Attempt:
    return Attempt(1, SLOT, sent=10.0, answered=10.0 + ms / 1000, status=201, booking_id="b")


def test_memory_and_open_files_are_read_from_proc():
    assert 5 < rss_mb(os.getpid()) < 10_000
    with open(__file__):
        assert open_files(os.getpid()) >= 4  # stdin, stdout, stderr and this file at least


def test_a_sample_has_the_periods_latencies_failures_and_every_processs_figures():
    sampler = Sampler({"me": os.getpid()})
    finished = [answered_in(ms) for ms in range(1, 101)] + [Attempt(2, SLOT, failure="no answer in 120s")]
    finished[0].errors.append((10.0, "refused"))
    sample = sampler.sample(1.0, finished, sent=101)
    assert (sample.sent, sample.answered, sample.failed, sample.errors) == (101, 100, 1, 1)
    assert (sample.p50_ms, sample.p99_ms) == (51.0, 100.0)
    assert sample.rss["me"] > 5 and sample.fds["me"] >= 3


def test_the_samples_are_written_as_csv_and_drawn(tmp_path: Path):
    sampler = Sampler({"me": os.getpid()})
    samples = [sampler.sample(minute, [answered_in(20.0 * minute)], sent=1) for minute in (1, 2, 3)]
    text = write_csv(samples, tmp_path / "soak.csv").read_text().splitlines()
    assert text[0].startswith("minute,seconds,sent,answered") and "rss_mb:me" in text[0] and "fds:me" in text[0]
    assert len(text) == 4
    chart = draw(samples, tmp_path / "soak.png", "a soak")
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
