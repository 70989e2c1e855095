"""The benchmark's instruction count: read from valgrind's report, refused clearly without valgrind."""

from __future__ import annotations

import pytest

from sim import bench

REPORT = """==12838== Events    : Ir
==12838== Collected : 418589003
==12838==
==12838== I   refs:      418,589,003
"""


def test_the_instructions_are_read_from_valgrinds_report() -> None:
    assert bench.instructions_executed(REPORT) == 418_589_003


def test_a_report_without_a_count_is_an_error_that_shows_it() -> None:
    with pytest.raises(RuntimeError, match=r"(?s)did not report.*Fatal error"):
        bench.instructions_executed("==1== Fatal error at startup")


def test_counting_instructions_without_valgrind_exits_2_before_measuring(monkeypatch, capsys) -> None:
    monkeypatch.setattr(bench.shutil, "which", lambda name: None)
    monkeypatch.setattr(bench, "measure", lambda *args: pytest.fail("measured without valgrind"))
    assert bench.main(["--instructions"]) == 2
    err = capsys.readouterr().err
    assert "--instructions" in err and "valgrind is not installed" in err and "apt-get install valgrind" in err
