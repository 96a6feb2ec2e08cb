"""A learner puts its times on shard 0's clock with the offset from the reply delayed least, not the latest."""
import pytest

from rudra.runtime.clock import ShardClock

OFFSET = -86_000.0  # shard 0's run clock minus this process's time.monotonic(): any sign, any size


def test_the_offset_is_the_reply_delayed_least_whatever_the_order():
    clock = ShardClock()
    delays = [0.0021, 0.0003, 0.0040, 0.0009]  # seconds each reply spent between stamp and arrival
    for i, delay in enumerate(delays):
        now = 10.0 + i
        clock.heard(now + OFFSET - delay, now)
    assert clock.offset == pytest.approx(OFFSET - min(delays), abs=1e-9)
    # the latest reply waited 0.9 ms: taking its sample would put every time 0.6 ms early
    assert clock.at(20.0) == pytest.approx(20.0 + OFFSET - 0.0003, abs=1e-9)


def test_a_negative_offset_is_kept_from_the_first_reply():
    clock = ShardClock()
    clock.heard(5.0, 86_005.0)  # shard 0 started long after this machine's monotonic clock did
    assert clock.offset == pytest.approx(-86_000.0)


def test_no_time_is_put_on_the_clock_before_a_reply():
    with pytest.raises(RuntimeError, match="no reply from shard 0"):
        ShardClock().at(1.0)


def test_the_offset_follows_a_drifting_clock_within_a_window():
    """Two machines' clocks drift apart: the best sample of the last WINDOW replies counts, not the best ever."""
    from rudra.runtime.clock import WINDOW

    clock = ShardClock()
    clock.heard(OFFSET + 1.0, 1.0)  # an early reply with no delay at all
    drift = -0.002  # since then shard 0's clock has fallen 2 ms behind
    for i in range(WINDOW):
        now = 100.0 + i
        clock.heard(now + OFFSET + drift - 0.0005 - 0.0001 * (i % 7), now)
    assert clock.offset == pytest.approx(OFFSET + drift - 0.0005, abs=1e-9)
