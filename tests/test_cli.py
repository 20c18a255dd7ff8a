"""The binaries' command lines: a wrong argument, flag or run is one line (`prog: error:
...`) before anything is made; old spellings of flags still work."""

import os

import pytest

from acai import registry
from acai.lib import data, device
from acai.lib.run import RunError
from conftest import REPO as REPO_DIR
from conftest import SMALL, TINY, error_line, run_module, train_in


def test_a_tfds_version_that_is_not_there_is_one_line(tmp_path):
    with pytest.raises(ValueError, match=r"dataset 'tfds:mnist:9.9.9': .*9\.9\.9.*only"):
        data.get_dataset("tfds:mnist:9.9.9", str(tmp_path))


@pytest.mark.slow
def test_a_stray_argument_is_one_line_not_the_whole_help(tmp_path):
    result = run_module("acai.train", *TINY, f"--train_dir={tmp_path}", "stray")
    line = error_line(result)
    assert "unexpected arguments: stray" in line and "--help" in line
    assert len(result.stderr.strip().splitlines()) < 10 and "--model" not in result.stderr


def test_a_batch_that_does_not_divide_a_report_period_is_refused(tmp_path, lines32):
    model = registry.build("baseline", lines32, dict(SMALL))
    run = registry.new_run(model, lines32, str(tmp_path))
    with pytest.raises(RunError, match=r"--batch=1500 does not divide --report_kimg=2 "
                                       r"\(2048 images\)"):
        train_in(model, lines32, run, batch=1500, seed=0, report_kimg=2, total_kimg=4)
    assert not os.path.exists(run.metrics_path)
    with pytest.raises(RunError, match=r"--batch=2048 does not divide --total_kimg=3"):
        train_in(model, lines32, run, batch=2048, seed=0, report_kimg=2, total_kimg=3)


def test_an_empty_train_dir_is_refused(tmp_path):
    result = run_module("acai.train", *TINY, "--train_dir=", "--total_kimg=1")
    assert result.returncode != 0
    assert "--train_dir must name a folder" in result.stderr
    assert not os.path.exists(os.path.join(REPO_DIR, "lines32"))


def run_binary(*args, module="acai.train"):
    return run_module(module, *args)


@pytest.mark.slow
def test_missing_run_for_evaluation_is_one_line(tmp_path):
    line = error_line(run_binary(f"--ae_dir={tmp_path / 'nope'}", module="acai.cluster"))
    assert line.startswith("acai.cluster: error: no run at")


@pytest.mark.slow
def test_evaluation_commands_refuse_another_kind_of_run(tmp_path):
    """An evaluation command given a run of a kind it cannot use: one line saying so."""
    run_dir = tmp_path / "lines32" / "DCGAN"
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text('{"model": "dcgan", "dataset": "lines32"}')
    for module, flag in (("acai.classify", "--ae_dir"), ("acai.cluster", "--ae_dir"),
                         ("vae.sample", "--run")):
        line = error_line(run_binary(f"{flag}={run_dir}", module=module))
        assert "is a 'dcgan' model, not an autoencoder" in line or "not a VAE" in line, line
        assert line.startswith(f"{module}: error: the run at"), line
    # And the GAN commands given an autoencoder run.
    ae_dir = tmp_path / "lines32" / "AEBaseline"
    ae_dir.mkdir(parents=True)
    (ae_dir / "config.json").write_text('{"model": "baseline", "dataset": "lines32"}')
    line = error_line(run_binary(f"--run={ae_dir}", module="gan.evaluate"))
    assert line.startswith("gan.evaluate: error: the run at"), line
    assert "is a 'baseline' model, not a GAN" in line, line
    # acai-projector and gan-pegasus ask the registry the same way (kind="autoencoder",
    # kind="gan"), and their errors go through the same cli.launch: checked in process.
    with pytest.raises(RunError, match="is a 'dcgan' model, not an autoencoder"):
        registry.load_run(str(run_dir), kind="autoencoder")
    with pytest.raises(RunError, match="is a 'baseline' model, not a GAN"):
        registry.load_run(str(ae_dir), kind="gan")


def test_multi_worker_without_tf_config_is_refused(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(RunError, match="needs the TF_CONFIG"):
        device.make_strategy("multi_worker")
    monkeypatch.setenv("TF_CONFIG", "{garbage")
    with pytest.raises(RunError, match=r"^the TF_CONFIG environment variable is not JSON "
                       r"\(Expecting property name.*\); it describes the cluster"):
        device.make_strategy("multi_worker")
    with pytest.raises(RunError, match="unknown strategy"):
        device.make_strategy("nope")


@pytest.mark.slow
def test_every_binary_takes_run_and_keeps_ae_dir_as_an_alias():
    """--run names the run folder in every binary that reads one; the evaluation commands'
    old --ae_dir (and gan-pegasus' --ae_dir for --ae_run) still work and --help says what
    they stand for."""
    for module in ("acai.cluster", "acai.classify", "acai.projector"):
        shown = run_module(module, "--help")
        assert shown.returncode == 0, shown.stderr[-2000:]
        assert "--run: Run folder" in shown.stdout and "--ae_dir: Alias for --run." in \
            shown.stdout, module
    shown = run_module("gan.pegasus", "--help")
    assert "--ae_dir: Alias for --ae_run." in shown.stdout
    for module in ("acai.export", "vae.sample", "gan.evaluate"):
        assert "--run: Run folder" in run_module(module, "--help").stdout, module
    # The alias sets --run: the old spelling reaches the same check.
    line = error_line(run_module("acai.cluster", "--ae_dir=/nonexistent/run"))
    assert line == "acai.cluster: error: no run at /nonexistent/run: " \
                   "/nonexistent/run/config.json not found"


def test_the_pegasus_settings_take_the_old_ae_dir_as_ae_run():
    from gan.pegasus import Settings
    assert Settings(ae_dir="runs/acai").ae_run == "runs/acai"
    assert Settings(ae_run="runs/acai").output_dir == "runs/acai/pegasus"
    with pytest.raises(ValueError, match="give --run .a GAN. and/or --ae_run"):
        Settings(classes=("horse", "bird")).check()


@pytest.mark.slow
def test_a_seed_numpy_cannot_take_is_refused_naming_the_flag(tmp_path):
    result = run_module("acai.train", "--seed=-1", f"--train_dir={tmp_path}")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert ("flag --seed=-1: -1 is not an integer in the range [0, 4294967295]"
            in result.stderr)
    assert os.listdir(tmp_path) == []


def test_a_missed_deadline_says_the_machine_may_be_slow(monkeypatch):
    """A subprocess helper's deadline scales with ACAI_TEST_TIMEOUT_SCALE, and a missed one
    fails naming the scale: slowness reads as slowness, not as a wrong result."""
    import subprocess

    import conftest
    monkeypatch.setattr(conftest, "TIMEOUT_SCALE", 1e-4)  # 300 s: 0.03 s.
    assert conftest.deadline(300) == pytest.approx(0.03)
    with pytest.raises(subprocess.TimeoutExpired) as error:
        conftest.run_module("acai.train", "--help")
    message = conftest.timed_out(error.value)
    assert message.startswith("timed out after 0 s: ")
    assert "-m acai.train --help" in message
    assert message.endswith("(the machine may be slow: deadlines scale with "
                            "ACAI_TEST_TIMEOUT_SCALE, now 0.0001)")
