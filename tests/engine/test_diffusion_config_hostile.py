"""A diffusion folder's JSON configs from outside: a scheduler config the numpy schedulers cannot use is a
PackError naming the key before any array is sized from it, and a config that is a named pipe or a link to
/dev/zero is a PackError, not a hang or a read without end."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from atelier.core.errors import PackError
from atelier.engine.diffusion.pipeline import read_json
from atelier.engine.diffusion.schedulers import make_scheduler

GOOD = {"_class_name": "EulerDiscreteScheduler", "beta_schedule": "scaled_linear", "num_train_timesteps": 1000}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"num_train_timesteps": 99_999_999_999}, "num_train_timesteps"),  # asked numpy for 745 GB
        ({"num_train_timesteps": "1000"}, "num_train_timesteps"),
        ({"beta_start": float("nan")}, "beta_start"),
        ({"steps_offset": -3}, "steps_offset"),
        ({"clip_sample": "yes"}, "clip_sample"),
    ],
)
@pytest.mark.parametrize("name", ["euler", "euler_a", "ddim", "lcm"])
def test_an_unusable_scheduler_config_is_a_pack_error_naming_the_key(name: str, change: dict, named: str) -> None:
    with pytest.raises(PackError, match=named) as caught:
        make_scheduler({**GOOD, **change}, name)
    assert "scheduler_config.json" in caught.value.user_message()


def test_a_usable_config_still_makes_its_schedule() -> None:
    scheduler = make_scheduler(GOOD, "euler")
    assert scheduler.alphas_cumprod.shape == (1000,)


def test_a_config_file_that_is_absent_or_not_an_object_reads_as_empty(tmp_path: Path) -> None:
    assert read_json(tmp_path / "missing.json") == {}
    (tmp_path / "list.json").write_text("[1, 2]")
    assert read_json(tmp_path / "list.json") == {}
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    assert read_json(tmp_path / "deep.json") == {}
    (tmp_path / "good.json").write_text('{"sample_size": 64}')
    assert read_json(tmp_path / "good.json") == {"sample_size": 64}


def test_a_config_that_is_a_named_pipe_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "scheduler_config.json"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            read_json(fifo)
        except BaseException as exc:  # handed to the test thread
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(5)
    assert not reader.is_alive(), "reading a named pipe blocked"
    assert outcome and isinstance(outcome[0], PackError) and "named pipe" in str(outcome[0])


def test_a_config_linked_to_dev_zero_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "config.json"
    link.symlink_to("/dev/zero")
    with pytest.raises(PackError, match="device"):
        read_json(link)
