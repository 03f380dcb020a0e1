"""evaluate_generator (CONTRACTS §3) and the reviewer CLI on the digits_cnn protocol, offline."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

import ganaudit.cli.evaluate as ev_cli
import ganaudit.metrics.evaluate as ev
from ganaudit.metrics import diversity_ms_ssim, fid, inception_score, protocol_for
from ganaudit.metrics.provenance import read_records
from ganaudit.utils.errors import ConfigError

from .conftest import TinyGenerator


class _Affine(torch.nn.Module):
    """A generator whose [0, 1] output is mapped to a * x + b (a = 2, b = -1: a tanh-like [-1, 1])."""

    z_dim = 8

    def __init__(self, inner: torch.nn.Module, a: float, b: float) -> None:
        super().__init__()
        self.inner, self.a, self.b = inner, a, b

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.inner(z) * self.a + self.b

CTX = {"seed": 3, "config_hash": "abcd", "step": 20000, "run_id": "r1"}
PROVENANCE_KEYS = {"protocol", "dataset", "real_split", "split_manifest_digest", "extractor",
                   "extractor_weights_sha256", "n_real", "n_fake", "dtype", "latent_seed", "seed",
                   "config_hash", "step", "run_id", "git_commit", "versions", "time_utc"}


def run(gen, weights, tmp_path, **kw):
    return ev.evaluate_generator(gen, dataset="digits", protocol="auto", data_dir="unused",
                                 artifacts_dir=weights.parent, record_path=tmp_path / "evals.jsonl",
                                 context=dict(CTX), **kw)


@pytest.mark.timeout(120)
def test_generator_evaluation_record_and_determinism(tmp_path, digits_weights, digits_view):
    gen = TinyGenerator().train()
    first = run(gen, digits_weights, tmp_path)
    assert gen.training  # mode restored
    assert first["fid"] > 0 and 1.0 <= first["is"] <= 10.0 and np.isfinite(first["kid"])
    assert first["nan_samples"] is False
    prov = first["provenance"]
    assert PROVENANCE_KEYS <= set(prov)
    assert (prov["protocol"], prov["n_real"], prov["n_fake"], prov["seed"], prov["step"]) == (
        "digits_cnn", 500, 500, 3, 20000)
    assert prov["split_manifest_digest"] == digits_view.manifest_digest
    second = run(gen.eval(), digits_weights, tmp_path)
    assert not gen.training
    assert (second["fid"], second["is"], second["kid"]) == (first["fid"], first["is"], first["kid"])  # bit-identical
    records = read_records(tmp_path / "evals.jsonl")
    assert len(records) == 2 and records[0]["fid"] == first["fid"]
    other = run(TinyGenerator(seed=1), digits_weights, tmp_path)
    assert other["fid"] != first["fid"]


@pytest.mark.timeout(120)
def test_equals_the_pure_functions_on_the_same_samples(tmp_path, digits_weights, digits_view):
    from ganaudit.metrics.features import EXTRACTORS

    gen = TinyGenerator()
    result = run(gen, digits_weights, tmp_path)
    ext = EXTRACTORS.get("digits_cnn")(digits_weights)
    proto = protocol_for("digits")
    with torch.no_grad():
        gen.eval()
        fakes = torch.cat(list(ev.generated_batches(gen, proto, 500, gen.z_dim, torch.device("cpu"))))
    assert fakes.shape == (500, 3, 32, 32)
    real = torch.from_numpy(digits_view.images).permute(0, 3, 1, 2).float()
    f_real, _ = ext(real)
    f_fake, logits = ext(fakes)
    assert result["fid"] == pytest.approx(fid(f_real.numpy(), f_fake.numpy()), rel=1e-6)
    assert result["is"] == pytest.approx(inception_score(logits.numpy()), rel=1e-6)


@pytest.mark.timeout(120)
def test_extraction_batch_size_does_not_change_fid(tmp_path, digits_weights, digits_view, monkeypatch):
    gen = TinyGenerator()
    base = run(gen, digits_weights, tmp_path)["fid"]
    small = dataclasses.replace(protocol_for("digits"), extract_batch=33)
    monkeypatch.setattr(ev, "protocol_for", lambda dataset, protocol: small)
    assert run(gen, digits_weights, tmp_path / "b")["fid"] == pytest.approx(base, rel=1e-6)


def test_nan_generator_records_the_sentinel(tmp_path, digits_weights, digits_view):
    # [V2] eval_gan_lib: NaN fakes give default_value = NAN_DETECTED = 31337.0 for every score column
    result = run(TinyGenerator(nan=True), digits_weights, tmp_path)
    assert result["fid"] == 31337.0 and result["is"] == 31337.0 and result["nan_samples"] is True
    assert result["kid"] is None and "ms_ssim" not in result  # no KID in [V2]; digits_cnn has no MS-SSIM
    record = read_records(tmp_path / "evals.jsonl")[0]
    assert (record["fid"], record["is"], record["nan_samples"]) == (31337.0, 31337.0, True)


def test_nan_sentinel_covers_ms_ssim_where_the_protocol_computes_it():
    values = ev.nan_sentinel_values(protocol_for("celeba_hq_128"), "celeba_hq_128")
    assert values == {"fid": 31337.0, "is": 31337.0, "kid": None, "ms_ssim": 31337.0, "nan_samples": True}
    assert "ms_ssim" not in ev.nan_sentinel_values(protocol_for("cifar10"), "cifar10")


@pytest.mark.timeout(120)
def test_ms_ssim_when_the_protocol_asks(tmp_path, digits_weights, digits_view, monkeypatch):
    # small diversity batches keep the test fast; the sampling itself is tested in test_ms_ssim
    proto = dataclasses.replace(protocol_for("digits"), ms_ssim_datasets=("digits",), diversity_batch_size=8)
    monkeypatch.setattr(ev, "protocol_for", lambda dataset, protocol: proto)
    result = run(TinyGenerator(), digits_weights, tmp_path)
    assert 0.0 < result["ms_ssim"] <= 1.0
    from ganaudit.metrics.ms_ssim import diversity_indices

    gen = TinyGenerator().eval()
    with torch.no_grad():
        fakes = torch.cat(list(ev.generated_batches(gen, proto, 500, gen.z_dim, torch.device("cpu"))))
    picks = diversity_indices(500, proto.diversity_seed, 5, 8)
    expected = diversity_ms_ssim([fakes[torch.from_numpy(row)] for row in picks])
    assert result["ms_ssim"] == pytest.approx(expected, rel=1e-12)


def write_npz(path, arr):
    np.savez(path, images=arr)
    return path


def cli(tmp_path, digits_weights, samples, capsys, *extra):
    rc = ev_cli.main([f"samples={samples}", "dataset=digits", "protocol=digits_cnn", "data_dir=unused",
                  f"artifacts={digits_weights.parent}", f"record={tmp_path / 'rev.jsonl'}", *extra])
    return rc, capsys.readouterr()


def test_cli_accepts_valid_samples_and_appends_a_record(tmp_path, digits_weights, digits_view, capsys):
    samples = write_npz(tmp_path / "s.npz", digits_view.images.copy())  # the real split itself
    rc, out = cli(tmp_path, digits_weights, samples, capsys)
    assert rc == 0, out.err
    record = json.loads(out.out)
    assert record["fid"] < 1e-6  # identical sets
    assert read_records(tmp_path / "rev.jsonl")[0]["provenance"]["context"]["samples"] == str(samples)
    as_float = write_npz(tmp_path / "f.npz", digits_view.images.transpose(0, 3, 1, 2).astype(np.float32))
    rc, out = cli(tmp_path, digits_weights, as_float, capsys)
    assert rc == 0 and json.loads(out.out)["fid"] < 1e-6


@pytest.mark.parametrize("case,needle", [
    ("count", "needs exactly 500"),
    ("shape", "expected uint8 [N, 32, 32, 3]"),
    ("dtype", "dtype int16"),
    ("range01", "expected [0, 255]"),
    ("nan", "NaN"),
    ("in01", "look like [0, 1] images; expected [0, 255]: multiply by 255, or pass samples_range=0,1"),
    ("tanh", "look like [-1, 1] images; expected [0, 255]: rescale them, or pass samples_range=-1,1"),
    ("uint01", "look like [0, 1] images"),
])
def test_cli_refuses_bad_samples(tmp_path, digits_weights, digits_view, capsys, case, needle):
    good = digits_view.images
    arr = {
        "count": good[:499],
        "shape": good[:, :16, :16],
        "dtype": good.astype(np.int16),
        "range01": good.transpose(0, 3, 1, 2).astype(np.float32) * 2.0,
        "nan": np.where(np.arange(500)[:, None, None, None] == 7, np.nan,
                        good.transpose(0, 3, 1, 2).astype(np.float32)),
        "in01": good.transpose(0, 3, 1, 2).astype(np.float32) / 255.0,
        "tanh": good.transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1.0,
        "uint01": (good > 127).astype(np.uint8),
    }[case]
    rc, out = cli(tmp_path, digits_weights, write_npz(tmp_path / "bad.npz", arr), capsys)
    assert rc == 1 and needle in out.err  # bad data: a failure (exit 1), one line, no number printed
    assert out.err.count("\n") == 1 and "Traceback" not in out.err and out.out == ""
    assert not (tmp_path / "rev.jsonl").exists()


@pytest.mark.parametrize("name,rng,scale", [("0,1", "0,1", lambda x: x / 255.0),
                                            ("-1,1", "-1,1", lambda x: x / 127.5 - 1.0)])
def test_named_samples_range_is_rescaled(tmp_path, digits_weights, digits_view, capsys, name, rng, scale):
    """The same images in [0, 1] or [-1, 1] with their range named give the [0, 255] FID (0: same set)."""
    arr = scale(digits_view.images.transpose(0, 3, 1, 2).astype(np.float64)).astype(np.float32)
    rc, out = cli(tmp_path, digits_weights, write_npz(tmp_path / "s.npz", arr), capsys, f"samples_range={rng}")
    assert rc == 0, out.err
    assert json.loads(out.out)["fid"] < 1e-3
    rc, out = cli(tmp_path, digits_weights, write_npz(tmp_path / "s.npz", arr), capsys, "samples_range=0,2")
    assert rc == 2 and "option 'samples_range' = '0,2'" in out.err


@pytest.mark.parametrize("content,suffix", [(b"\x93NUMPY garbage" * 50, ".npy"), (None, ".npz"),
                                            (bytes(range(256)) * 40, ".npz")])
def test_unreadable_sample_files_are_one_line_errors(tmp_path, digits_weights, digits_view, capsys, content,
                                                     suffix):
    path = tmp_path / f"bad{suffix}"
    if content is None:  # a truncated npz: the first half of a valid one
        blob = write_npz(tmp_path / "ok.npz", digits_view.images.copy()).read_bytes()
        path.write_bytes(blob[: len(blob) // 2])
    else:
        path.write_bytes(content)
    rc, out = cli(tmp_path, digits_weights, path, capsys)
    assert rc == 1 and f"samples '{path}' is not a readable {suffix} array file" in out.err, out.err
    assert "pickled" not in out.err and "Traceback" not in out.err
    assert not (tmp_path / "rev.jsonl").exists()


def test_cli_argument_errors():
    with pytest.raises(ConfigError, match="missing option 'samples='"):
        ev_cli.compose_options(["dataset=digits"])
    with pytest.raises(ConfigError, match="--samples"):
        ev_cli.compose_options(["--samples", "x"])
    with pytest.raises(ConfigError, match="sample"):  # a misspelt option is named, not ignored
        ev_cli.compose_options(["sample=x.npz"])
    opts = ev_cli.compose_options(["samples=a.npz", "dataset=digits"])
    assert (opts.record, opts.dataset.name) == ("./artifacts/evals/reviewer.jsonl", "digits")
    with pytest.raises(ConfigError, match="allowed values for option .dataset.: .*digits"):
        ev_cli.compose_options(["samples=a.npz", "dataset=digitz"])
    assert ev_cli.main(["samples=/nonexistent.npz", "dataset=digits", "artifacts=/nonexistent"]) == 1  # a failure


def test_tanh_generator_checkpoint_is_refused_unless_named(tmp_path, digits_weights, digits_view, capsys):
    gen = TinyGenerator()
    torch.save(_Affine(gen, 2.0, -1.0), tmp_path / "g.pt")  # [0, 1] output mapped to [-1, 1]
    rc, out = cli(tmp_path, digits_weights, tmp_path / "g.pt", capsys, "trust_pickle=true")  # our own pickles
    assert rc == 1 and "expected G(z) in [0, 1] (looks like a tanh output in [-1, 1]" in out.err, out.err
    assert not (tmp_path / "rev.jsonl").exists()
    rc, out = cli(tmp_path, digits_weights, tmp_path / "g.pt", capsys, "samples_range=-1,1", "trust_pickle=true")
    assert rc == 0, out.err
    torch.save(_Affine(gen, 1.0, 0.0), tmp_path / "g01.pt")
    rc2, out2 = cli(tmp_path, digits_weights, tmp_path / "g01.pt", capsys, "trust_pickle=true")
    assert rc2 == 0 and json.loads(out.out)["fid"] == pytest.approx(json.loads(out2.out)["fid"], rel=1e-5)


def test_unwritable_record_is_refused_before_computing(tmp_path, digits_weights, digits_view, capsys):
    samples = write_npz(tmp_path / "s.npz", digits_view.images.copy())
    blocker = tmp_path / "blocker"  # a file where the record's directory should be (fails even as root)
    blocker.write_text("keep me")
    rc = ev_cli.main([f"samples={samples}", "dataset=digits", "protocol=digits_cnn", "data_dir=unused",
                  f"artifacts={digits_weights.parent}", f"record={blocker / 'rev.jsonl'}"])
    err = capsys.readouterr().err
    assert rc == 1 and f"record file '{blocker / 'rev.jsonl'}' cannot be written" in err, err
    assert "is not a writable directory" in err and blocker.read_text() == "keep me"
