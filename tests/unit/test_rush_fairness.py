"""`paspor rush --bots`: the same people and bots against first come first served and against a release draw."""

from __future__ import annotations

import pytest

from paspor.rush.fairness import Bots, InvalidBots, rehearse
from paspor.rush.scenario import Scenario

SMALL = Scenario(citizens=600, offices=1, burst_seconds=5, seed=7)  # 606 identities for 200 places


def test_bots_at_the_release_instant_win_first_come_first_served_and_only_their_share_of_a_draw(tmp_path):
    report = rehearse(SMALL, Bots(share=0.10, speed=20), tmp_path)
    fcfs, draw = report["fcfs"], report["draw"]
    assert report["bots"] == round(report["identities"] * 0.10)
    assert fcfs["confirmed"] == draw["confirmed"] == 200  # both fill the office's two sessions, no more
    assert fcfs["times_identity_share"] > 2  # the bots came first: 3.09x with this seed
    assert draw["times_identity_share"] < 1.6  # a lottery among 606 for 200 (1.10x with this seed)
    assert draw["joins_per_second"] and fcfs["decided_per_second"] and report["joins_vs_decisions"]


@pytest.mark.parametrize("share, speed", [(0, 20), (1, 20), (0.1, 0.5), (0.1, 20_000)])
def test_bots_options_out_of_range_are_refused(share, speed):
    with pytest.raises(InvalidBots):
        Bots(share, speed)
