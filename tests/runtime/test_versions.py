"""What run.json records about the machine: the CPU time a hypervisor took, read from /proc/stat."""
import pytest

from rudra.runtime.versions import cpu_ticks, stolen

STAT = """cpu  100 5 40 800 10 0 3 {steal} 0 0
cpu0 50 2 20 400 5 0 1 {half} 0 0
intr 12345
"""


def stat(tmp_path, steal: int):
    path = tmp_path / "stat"
    path.write_text(STAT.format(steal=steal, half=steal // 2))
    return str(path)


def test_the_machine_line_gives_stolen_and_total_ticks(tmp_path):
    """The "cpu" line's eighth count is steal; the total sums user … steal (guest time is already in user)."""
    assert cpu_ticks(stat(tmp_path, 42)) == (42, 100 + 5 + 40 + 800 + 10 + 0 + 3 + 42)


@pytest.mark.parametrize("text", ["", "cpu  1 2 3\n", "cpu  a b c d e f g h\n", "intr 5\n"])
def test_an_unreadable_line_counts_nothing(tmp_path, text):
    path = tmp_path / "stat"
    path.write_text(text)
    assert cpu_ticks(str(path)) is None


def test_no_file_counts_nothing(tmp_path):
    assert cpu_ticks(str(tmp_path / "missing")) is None


def test_the_share_stolen_between_two_readings():
    """100 of the 1000 ticks between the readings were stolen: 10 %."""
    assert stolen((42, 5000), (142, 6000)) == pytest.approx(0.1)


@pytest.mark.parametrize("since, now", [(None, (1, 10)), ((1, 10), None), ((1, 10), (1, 10))])
def test_without_two_readings_apart_nothing_is_said(since, now):
    assert stolen(since, now) is None


def test_this_machine_is_counted_where_linux_counts_it():
    """On Linux the reading is there, its steal part of its total; elsewhere it is None, never a guess."""
    ticks = cpu_ticks()
    if ticks is None:
        pytest.skip("no /proc/stat here")
    assert 0 <= ticks[0] <= ticks[1]
