"""``make play`` serves a git-ignored working copy of the lessons, copied when missing and never overwritten."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_play_folder_is_a_copy_that_is_never_overwritten(tmp_path: Path) -> None:
    play = tmp_path / "play"
    run = ["make", "-s", "-C", str(REPO), "play-folder", f"PLAY_DIR={play}"]
    first = subprocess.run(run, capture_output=True, text=True, check=True)
    lessons = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))
    assert sorted(p.name for p in play.glob("*.ipynb")) == lessons
    assert first.stdout.count("copied ") == len(lessons)

    mine = play / lessons[0]
    mine.write_text("my own work")
    (play / lessons[1]).unlink()
    second = subprocess.run(run, capture_output=True, text=True, check=True)
    assert mine.read_text() == "my own work"  # never overwritten
    assert (play / lessons[1]).exists() and second.stdout.count("copied ") == 1  # a missing one comes back


def test_the_default_play_folder_is_ignored_by_git() -> None:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    ignored = subprocess.run(["git", "-C", str(REPO), "check-ignore", "-q", "play/01_hello_websocket.ipynb"])
    assert ignored.returncode == 0
    made = subprocess.run(["make", "-n", "-C", str(REPO), "play"], capture_output=True, text=True, check=True)
    assert "--ServerApp.root_dir=play" in made.stdout and "root_dir=notebooks" not in made.stdout
