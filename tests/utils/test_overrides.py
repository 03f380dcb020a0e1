"""Override strings read with Hydra's grammar."""

import pytest

from ganaudit.utils.errors import ConfigError
from ganaudit.utils.overrides import override_dict, override_key, parse_override


def test_keys_drop_prefixes_and_packages():
    assert override_key("loss=ls") == "loss"
    assert override_key("+optim.lr=1e-3") == "optim.lr"
    assert override_key("++trainer.stop_at=3") == "trainer.stop_at"
    assert override_key("~penalty") == "penalty"
    assert override_key("arch@model=sndcgan") == "arch"


def test_values_are_hydras_python_values():
    got = override_dict(["loss=ls", "optim.lr=1e-3", "seed=3", "+a.b='x y'", 's="k=v"', "x=[1,2,'a b']",
                         "n=null", "flag=true"])
    assert got == {"loss": "ls", "optim.lr": 0.001, "seed": 3, "a.b": "x y", "s": "k=v",
                   "x": [1, 2, "a b"], "n": None, "flag": True}


def test_later_wins_and_delete_removes():
    assert override_dict(["penalty=wgan_gp", "penalty=dragan"]) == {"penalty": "dragan"}
    assert override_dict(["penalty=wgan_gp", "~penalty", "loss=ns"]) == {"loss": "ns"}


def test_as_text_keeps_strings_and_writes_other_values_as_hydra_does():
    got = override_dict(["norm=spectral", "x=[1,2]", "optim.lr=0.001", "s='a=b'"], as_text=True)
    assert got == {"norm": "spectral", "x": "[1,2]", "optim.lr": "0.001", "s": "a=b"}


@pytest.mark.parametrize("bad", ["x=[1,", "x='open", "a b=1"])
def test_malformed_override_is_a_one_line_config_error(bad):
    with pytest.raises(ConfigError) as err:
        parse_override(bad)
    msg = str(err.value)
    assert bad in msg and "\n" not in msg
