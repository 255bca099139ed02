"""The exercises of "muP for Transformers": reference answers agree with the library, and
the bug hunt's coordinate check points at the bug."""

import numpy as np
import torch

from mupbook.exercises import EXERCISES, check
from mupbook.exercises import ch07 as ex
from mupbook.studies import coord_check as coord
from mupbook.transformer import GPT, attention_multiplier


def test_attention_multiplier_answer_is_the_library_s():
    assert EXERCISES["gpt-attention-multiplier"].reference() == attention_multiplier(
        "mup", 256, 16
    )
    assert (
        "SP's 1/sqrt(d)"
        in check(
            "gpt-attention-multiplier", attention_multiplier("sp", 256, 16)
        ).message
    )


def test_mlp_adam_answer_is_what_param_groups_give():
    net = GPT(27, 1024, "mup", n_heads=2, n_layers=1, base_width=64)
    groups = {g["name"]: g["lr"] for g in net.param_groups("adam", 1.0)}
    assert groups["blocks.0.mlp.fc"] == EXERCISES["gpt-mlp-adam-lr"].reference()


def test_the_buggy_gpt_differs_from_mup_in_exactly_one_tensor_s_rule():
    buggy, good = ex.buggy_gpt(256), GPT(27, 256, "mup", n_heads=2, base_width=32)
    differ = [n for n in good.scalings if buggy.scalings[n] != good.scalings[n]]
    assert differ == [EXERCISES["gpt-find-the-bug"].reference()]


def test_the_bug_hunt_coordinate_check_points_at_the_bug():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 27, (2, 16), generator=g)
    y = torch.randint(0, 27, (2, 16), generator=g)
    c = coord.coord_check(
        ex.buggy_gpt,
        [128, 256, 512],
        x,
        y,
        steps=4,
        optimizer="adam",
        lr=0.03,
        seeds=(0,),
        loss="xent",
        progress=False,
    )
    slopes = c.slopes("size")[4]
    growing = [n for n, s in zip(c.layers, slopes) if s > 0.5]
    assert growing and growing[0] == "block1.mlp_hidden", dict(zip(c.layers, slopes))
    before = c.layers[: c.layers.index("block1.mlp_hidden")]
    assert np.all(np.abs(c.slopes_at("size", [4], before)) < 0.3)


def test_the_chapter_has_at_least_three_exercises_and_a_bug_hunt():
    assert len([k for k in EXERCISES if k.startswith("gpt-")]) >= 3
    assert "bug" in EXERCISES["gpt-find-the-bug"].question
