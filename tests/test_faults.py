"""Fault injection on the results store and folders (issue 12).

Damaged run files are detected and redone; an unreadable manifest is rebuilt without losing
runs; two sweeps on one folder never both work in it; killing the driver leaves no process;
a run folder written over on a full disk never mixes two runs; the viz server stops with its
command; an unreachable Dask scheduler fails before any folder exists.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from sahel_sim.experiments import LocalExecutor, execute_plan, load_outcomes, load_sweep
from sahel_sim.experiments.store import RunStore
from sahel_sim.io.lock import FolderLock

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}

SWEEP = """
name: faults
scenario: {scenario}
set: {{end_date: {end}}}
parameters:
  mechanisms.combat.battle_rate_per_week: {{values: [0.15, 0.35]}}
replicates: {replicates}
seed: 5
outputs: {{keep_events: true}}
"""


def sweep_file(folder: Path, *, end: str = "2019-03-04", replicates: int = 2, scenario: str = "classroom") -> Path:
    p = folder / "sweep.yaml"
    p.write_text(SWEEP.format(scenario=ROOT / "scenarios" / f"{scenario}.yaml", end=end, replicates=replicates))
    return p


def cli(argv: list[str], cwd: Path | None = None) -> tuple[int, str]:
    from sahel_sim.cli import main

    err = io.StringIO()
    old = Path.cwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = main(argv)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        os.chdir(old)
    return code, err.getvalue()


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".lock"}


@pytest.fixture()
def finished_sweep(tmp_path):
    plan = load_sweep(sweep_file(tmp_path))
    out = tmp_path / "out"
    report = execute_plan(plan, out, executor=LocalExecutor(0))
    assert report.ok == plan.n_runs == 4
    return plan, out


# --------------------------------------------------------------------------- damaged files
def test_damaged_run_files_are_detected_and_redone(finished_sweep) -> None:
    plan, out = finished_sweep
    reference = load_outcomes(out).sort_values("run_key").reset_index(drop=True)
    (out / "runs" / "p00000-r00000.parquet").write_bytes(b"")  # emptied
    data = (out / "runs" / "p00001-r00000.parquet").read_bytes()
    (out / "runs" / "p00001-r00000.parquet").write_bytes(data[: len(data) // 2])  # truncated
    ev = out / "events" / "p00000-r00001.parquet"
    raw = bytearray(ev.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # one flipped byte in an event log
    ev.write_bytes(bytes(raw))
    notes: list[str] = []
    report = execute_plan(plan, out, executor=LocalExecutor(0), notify=notes.append)
    assert report.redone == 3 and report.ok == 3 and report.skipped == 1 and report.failed == 0
    assert len(notes) == 3 and all("moved to damaged/, it will be redone" in n for n in notes)
    assert any("events/p00000-r00001.parquet does not match its checksum" in n for n in notes)
    again = load_outcomes(out).sort_values("run_key").reset_index(drop=True)
    assert again.drop(columns=[]).equals(reference)  # redone runs reproduce the same rows
    assert len(list((out / "damaged").iterdir())) == 6  # each damaged run: its row and its event log
    assert RunStore(out).verify() == []  # and the folder is clean now


def test_unindexed_damaged_file_from_a_crash_is_redone(finished_sweep) -> None:
    plan, out = finished_sweep
    (out / "index.jsonl").write_text("{garbled\n")  # index lost: rebuilt from the run files
    (out / "runs" / "p00000-r00001.parquet").write_bytes(b"PAR1")
    report = execute_plan(plan, out, executor=LocalExecutor(0))
    assert report.redone == 1 and report.ok == 1 and report.skipped == 3
    assert set(RunStore(out).read_index()) == {t.key for t in plan.tasks()}


def test_corrupt_manifest_keeps_the_runs_and_is_rebuilt(finished_sweep) -> None:
    plan, out = finished_sweep
    (out / "manifest.json").write_text("{ not json")
    notes: list[str] = []
    report = execute_plan(plan, out, executor=LocalExecutor(0), notify=notes.append)
    assert report.skipped == 4 and report.ok == 0
    assert any("rebuilt it, keeping the 4 finished runs" in n for n in notes)
    assert RunStore(out).read_manifest()["kind"] == "sweep"


def test_corrupt_manifest_of_another_sweep_is_refused_without_suggesting_deletion(finished_sweep, tmp_path) -> None:
    _, out = finished_sweep
    (out / "manifest.json").write_text("")
    other = tmp_path / "other"
    other.mkdir()
    text = sweep_file(other).read_text().replace("seed: 5", "seed: 6")
    (other / "sweep.yaml").write_text(text)
    code, err = cli(["sweep", str(other / "sweep.yaml"), "--workers", "0", "--out", str(out), "--quiet"])
    assert code == 2 and "results of a different sweep" in err and "remove" not in err
    assert len(list((out / "runs").iterdir())) == 4


# --------------------------------------------------------------------------- lock
def test_a_locked_folder_is_refused_naming_its_holder(tmp_path) -> None:
    path = sweep_file(tmp_path)
    out = tmp_path / "out"
    with FolderLock(out, command="sahel-sim sweep other.yaml"):
        code, err = cli(["sweep", str(path), "--workers", "0", "--out", str(out), "--quiet"])
    assert code == 2
    assert f"in use by another sahel-sim (pid {os.getpid()} on host" in err
    assert not (out / "runs").exists()  # nothing done, nothing deleted
    code, err = cli(["sweep", str(path), "--workers", "0", "--out", str(out), "--quiet"])
    assert code == 0, err


def test_a_refusal_in_the_instant_before_the_holder_writes_its_pid_still_names_it(tmp_path) -> None:
    import fcntl
    import json
    import threading

    folder = tmp_path / "out"
    folder.mkdir()
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o666)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # locked, nothing written yet
    info = {"pid": 4242, "host": "elsewhere", "since": "2026-01-01T00:00:00+00:00", "command": "x"}
    writer = threading.Timer(0.1, lambda: os.pwrite(fd, json.dumps(info).encode(), 0))
    writer.start()
    try:
        with pytest.raises(Exception, match=r"in use by another sahel-sim \(pid 4242 on host elsewhere"):
            FolderLock(folder).acquire()
    finally:
        writer.join()
        os.close(fd)


def test_two_sweeps_on_one_folder_do_each_run_once(tmp_path) -> None:
    path = sweep_file(tmp_path, end="2019-06-03", replicates=3)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "sahel_sim", "sweep", str(path), "--workers", "0", "--out", str(out), "--quiet"]
    procs = [subprocess.Popen(cmd, cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [p.communicate(timeout=120) for p in procs]
    codes = sorted(p.returncode for p in procs)
    done = 0
    for stdout, stderr in results:
        assert "Traceback" not in stderr
        for line in stdout.splitlines():
            if " runs done, " in line:
                done += int(line.split()[0])
    # either one was refused (exit 2, naming the other) or the second found everything done
    assert codes in ([0, 0], [0, 2])
    if codes == [0, 2]:
        assert any("in use by another sahel-sim (" in e for _, e in results)
    assert done == 6
    assert len(RunStore(out).read_index()) == 6 and len(load_outcomes(out)) == 6


# --------------------------------------------------------------------------- processes
def test_killing_the_driver_leaves_no_process_behind(tmp_path) -> None:
    path = sweep_file(tmp_path, end="2024-12-30", replicates=4, scenario="historical")
    out = tmp_path / "out"
    driver = subprocess.Popen([sys.executable, "-m", "sahel_sim", "sweep", str(path), "--workers", "2", "--out",
                               str(out), "--quiet"], cwd=tmp_path, env=ENV, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    me = psutil.Process(driver.pid)
    family: list[psutil.Process] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until the pool's workers exist
        family = me.children(recursive=True)
        if len(family) >= 4:  # resource tracker, forkserver and two workers
            break
        time.sleep(0.2)
    family = me.children(recursive=True)
    assert len(family) >= 4, [p.cmdline() for p in family]
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    _, alive = psutil.wait_procs(family, timeout=15)
    leftover = [(p.pid, " ".join(p.cmdline())[:80]) for p in alive if p.is_running()]
    for p in alive:  # do not leave them to other tests if the check fails
        with contextlib.suppress(psutil.Error):
            p.kill()
    assert leftover == []


def test_viz_server_stops_when_the_command_is_terminated(tmp_path) -> None:
    script = ("import os, sys\n"
              "from sahel_sim.cli import _sigterm_interrupts\n"
              "from sahel_sim.cli.viz_cmd import run_server\n"
              "_sigterm_interrupts()\n"
              "sys.exit(run_server([sys.executable, '-c', 'import time; time.sleep(120)'], env=dict(os.environ), grace_s=5))\n")
    parent = subprocess.Popen([sys.executable, "-c", script], env=ENV)
    me = psutil.Process(parent.pid)
    deadline = time.monotonic() + 30
    children: list[psutil.Process] = []
    while time.monotonic() < deadline and not children:
        children = me.children()
        time.sleep(0.1)
    assert children, "the server child never started"
    parent.send_signal(signal.SIGTERM)
    assert parent.wait(timeout=15) == 0
    _, alive = psutil.wait_procs(children, timeout=10)
    assert [p for p in alive if p.is_running()] == []


def test_viz_warns_when_serving_to_the_network() -> None:
    from sahel_sim.cli.viz_cmd import _is_loopback

    assert _is_loopback("127.0.0.1") and _is_loopback("localhost") and _is_loopback("::1")
    assert not _is_loopback("0.0.0.0") and not _is_loopback("192.168.1.10")


def test_unreachable_scheduler_fails_before_the_output_folder_exists(tmp_path) -> None:
    path = sweep_file(tmp_path)
    out = tmp_path / "out"
    t0 = time.monotonic()
    code, err = cli(["sweep", str(path), "--scheduler", "tcp://127.0.0.1:9", "--connect-timeout", "2",
                     "--out", str(out), "--quiet"])
    assert code == 2 and "cannot connect to a Dask scheduler" in err
    assert not out.exists()
    assert time.monotonic() - t0 < 30


def test_dask_sweep_gives_up_when_no_worker_is_left(tmp_path) -> None:
    from distributed import Client, LocalCluster

    from sahel_sim.experiments.executors import DaskExecutor, NoWorkersError

    plan = load_sweep(sweep_file(tmp_path, replicates=1))
    notes: list[str] = []
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        worker = next(iter(cluster.workers.values()))
        client.sync(worker.close)  # the last worker dies before any run finishes
        executor = DaskExecutor(client=client, worker_timeout_s=3, notify=notes.append)
        t0 = time.monotonic()
        with pytest.raises(NoWorkersError, match=r"no Dask worker connected .* for 3 s"):
            execute_plan(plan, tmp_path / "out", executor=executor)
        assert time.monotonic() - t0 < 30
    assert any("no Dask worker is connected" in n for n in notes)
    assert RunStore(tmp_path / "out").read_manifest()["status"] == "interrupted"


# --------------------------------------------------------------------------- run folders
RUN = ["run", str(ROOT / "scenarios" / "classroom.yaml"), "--set", "end_date=2019-02-25", "--no-plot", "--quiet"]


def test_run_out_never_mixes_two_runs_on_a_full_disk(tmp_path, monkeypatch) -> None:
    out = tmp_path / "r"
    assert cli([*RUN, "--seed", "1", "--out", str(out)])[0] == 0
    before = digest(out)
    # another seed into the same folder: refused before running
    code, err = cli([*RUN, "--seed", "2", "--out", str(out)])
    assert code == 2 and "already holds other results (seed 1 of scenario classroom)" in err
    # the same run again, with the disk filling up halfway through writing
    import sahel_sim.io.results as results

    calls = {"n": 0}

    def full_disk(real):
        def write(path, data):
            calls["n"] += 1
            if calls["n"] == 3:
                raise OSError(errno.ENOSPC, "No space left on device", str(path))
            return real(path, data)
        return write

    for name in ("write_atomic", "write_file"):  # each file atomically, or once into the staged folder
        monkeypatch.setattr(results, name, full_disk(getattr(results, name)))
    code, err = cli([*RUN, "--seed", "1", "--out", str(out)])
    assert calls["n"] == 3 and code == 1 and "No space left on device" in err and "Traceback" not in err
    assert digest(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]  # no temporary folder left behind


def test_atomic_writes_do_not_touch_the_umask(tmp_path, monkeypatch) -> None:
    from sahel_sim.io.atomic import write_atomic

    mask = os.umask(0o022)
    os.umask(mask)

    def no_umask(*_a):
        raise AssertionError("write_atomic changed the process umask")

    monkeypatch.setattr(os, "umask", no_umask)
    path = write_atomic(tmp_path / "a.txt", "x")
    assert path.read_text() == "x" and (path.stat().st_mode & 0o777) == (0o666 & ~mask)
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]
