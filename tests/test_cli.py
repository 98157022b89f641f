"""The command line: exit statuses, messages without tracebacks, files written."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import xarray as xr

from bayestwin.cli import main


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bayestwin.cli", *args], capture_output=True,
                          text=True, timeout=600)


def test_simulate_then_check(tmp_path):
    out = tmp_path / "cohort"
    assert main(["simulate", "--patients", "30", "--seed", "1", "--out", str(out)]) == 0
    assert (out / "patients.csv").exists()
    assert (out / "truth" / "population.json").exists()
    assert main(["check", str(out)]) == 0


def test_simulate_same_seed_same_bytes(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    main(["simulate", "--patients", "25", "--seed", "9", "--out", str(first)])
    main(["simulate", "--patients", "25", "--seed", "9", "--out", str(second)])
    for path in sorted(first.rglob("*.csv")):
        assert path.read_bytes() == (second / path.relative_to(first)).read_bytes(), path.name


def test_check_bad_cohort_exits_1_without_traceback(tmp_path):
    folder = tmp_path / "bad"
    main(["simulate", "--patients", "10", "--seed", "1", "--out", str(folder)])
    patients = (folder / "patients.csv").read_text().splitlines()
    patients.append(patients[1])  # duplicate patient_id
    (folder / "patients.csv").write_text("\n".join(patients) + "\n")
    result = run_cli("check", str(folder))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "patients.csv" in result.stderr
    assert "patient_id" in result.stderr


def test_missing_folder_is_a_clear_error(tmp_path):
    result = run_cli("check", str(tmp_path / "nowhere"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr


def test_fit_unknown_model_lists_builtins(tmp_path):
    folder = tmp_path / "cohort"
    main(["simulate", "--patients", "10", "--seed", "1", "--out", str(folder)])
    result = run_cli("fit", str(folder), "--model", "nomodel", "--out", str(tmp_path / "f.nc"),
                     "--seed", "1")
    assert result.returncode == 1
    assert "fh_twin" in result.stderr


@pytest.fixture(scope="module")
def saved_fit(fh_structural_fit, twin_simulated, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    twin_simulated.write(folder / "cohort")
    fh_structural_fit.idata.attrs["cohort_path"] = str(folder / "cohort")
    path = fh_structural_fit.save(folder / "fit.nc")
    return path, folder


def test_twin_command_writes_draws(saved_fit, twin_simulated, capsys):
    path, folder = saved_fit
    patient = twin_simulated.cohort.patients.index[0]
    out = folder / "twin.nc"
    code = main(["twin", str(path), "--patient", patient, "--scenario", "current",
                 "--scenario", "atorvastatin:80+ezetimibe:10", "--out", str(out),
                 "--max-draws", "200"])
    assert code == 0
    assert out.exists()
    assert "P(benefit)" in capsys.readouterr().out


def test_ppc_command_writes_plots(saved_fit, capsys):
    path, folder = saved_fit
    out = folder / "ppc"
    assert main(["ppc", str(path), "--prior", "--draws", "30", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Prior predictive check" in printed
    assert "endpoint events" in printed
    assert (out / "prior_predictive_statistics.csv").exists()
    assert (out / "prior_predictive_log_ldl.png").exists()


def test_twin_unknown_patient_exits_1(saved_fit):
    path, folder = saved_fit
    result = run_cli("twin", str(path), "--patient", "NOPE", "--scenario", "current",
                     "--out", str(folder / "x.nc"))
    assert result.returncode == 1
    assert "not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_riskscore_command(saved_fit, capsys):
    _, folder = saved_fit
    assert main(["riskscore", str(folder / "cohort"), "--patient", "P00001"]) == 0
    assert "not applicable" in capsys.readouterr().out


def test_report_refuses_unconverged_fit(saved_fit):
    from bayestwin.inference import load_fit
    from bayestwin.inference.gate import GateResult

    path, folder = saved_fit
    fit = load_fit(path)
    gate = GateResult.from_json(fit.idata.attrs["gate"])
    gate.passed = False
    gate.failures = ["forced for the test"]
    fit.idata.attrs["gate"] = gate.to_json()
    flagged = Path(folder) / "flagged.nc"
    fit.idata.to_netcdf(flagged)
    result = run_cli("report", str(flagged), "--patient", "P00001", "--lang", "fr",
                     "--format", "html", "--out", str(folder / "reports"), "--max-draws", "100")
    assert result.returncode == 1
    assert "--allow-unconverged" in result.stderr


@pytest.mark.filterwarnings("ignore::bayestwin.exceptions.DataWarning")  # real high values
def test_import_framingham_split(tmp_path, capsys):
    from bayestwin.testing import require_shared_file

    source = require_shared_file("frmgham2.csv")
    out = tmp_path / "framingham"
    assert main(["import", "framingham", str(source), "--out", str(out),
                 "--test-fraction", "0.3", "--seed", "4"]) == 0
    printed = capsys.readouterr().out
    assert "Wrote 2950 participants" in printed
    assert "Wrote 1265 participants" in printed
    assert (out / "exclusions.csv").exists()
    assert main(["check", str(out / "test")]) == 0


def test_import_split_needs_a_seed(tmp_path, capsys):
    from bayestwin.testing import require_shared_file

    source = require_shared_file("frmgham2.csv")
    assert main(["import", "framingham", str(source), "--out", str(tmp_path),
                 "--test-fraction", "0.3"]) == 1
    assert "--seed" in capsys.readouterr().err


def test_import_rejects_bad_test_fraction(tmp_path, capsys):
    from bayestwin.testing import require_shared_file

    source = require_shared_file("frmgham2.csv")
    assert main(["import", "framingham", str(source), "--out", str(tmp_path),
                 "--test-fraction", "30", "--seed", "1"]) == 1
    assert "--test-fraction 30 is invalid" in capsys.readouterr().err


def test_update_population_needs_new(saved_fit):
    path, folder = saved_fit
    result = run_cli("twin", str(path), "--patient", "P00000", "--scenario", "current",
                     "--update-population", "--out", str(folder / "x.nc"))
    assert result.returncode == 1
    assert "--update-population needs --new" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::bayestwin.exceptions.ConvergenceWarning")
def test_twin_new_patient_updates_population(saved_fit, capsys):
    # The structural fit is short: the check is the command's path, not its posterior.
    from bayestwin.simulate import simulate_cohort

    path, folder = saved_fit
    new = simulate_cohort(3, seed=404)
    new.write(folder / "new")
    patient = new.cohort.patients.index[0]
    out = folder / "updated.nc"
    code = main(["twin", str(path), "--patient", patient, "--new", str(folder / "new"),
                 "--update-population", "--scenario", "current", "--out", str(out),
                 "--max-draws", "200"])
    assert code == 0
    assert "P(benefit)" in capsys.readouterr().out
    with xr.open_dataset(out) as saved:
        assert "population_update" in json.loads(saved.attrs["info"])
