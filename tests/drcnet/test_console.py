"""The ``drcnet`` console script: a Ctrl+C while torch loads is one line and status 130."""

from __future__ import annotations

import errno
import importlib.abc
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from drcnet import console


class _InterruptCliImport(importlib.abc.MetaPathFinder):
    """Raises KeyboardInterrupt when ``drcnet.cli`` is imported, as a Ctrl+C during its
    ``import torch`` would."""

    def find_spec(self, name, path=None, target=None):
        if name == "drcnet.cli":
            raise KeyboardInterrupt
        return None


def test_ctrl_c_while_the_cli_imports_is_one_line_and_130(monkeypatch, capsys):
    monkeypatch.delitem(sys.modules, "drcnet.cli", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_InterruptCliImport(), *sys.meta_path])
    assert console.main() == console.EXIT_INTERRUPTED
    assert capsys.readouterr().err == "drcnet: error: interrupted\n"


def test_the_console_script_module_does_not_import_torch():
    code = "import sys, drcnet.console; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_package_still_exports_the_network_and_registry():
    import drcnet

    assert drcnet.TASKS and callable(drcnet.load_model)
    assert drcnet.DRCNet.__name__ == "DRCNet"
    with pytest.raises(AttributeError):
        drcnet.no_such_name  # noqa: B018


def test_a_closed_pipe_ends_quietly():  # noqa: ANN201
    """`drcnet info | head -1` ended in a BrokenPipeError traceback, status 1."""
    import subprocess
    import sys

    cmd = (f"{sys.executable} -m drcnet.cli info | head -c 1 > /dev/null; "
           "echo ${PIPESTATUS[0]}")
    r = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=120,
                       cwd=__import__("pathlib").Path(__file__).parents[2])
    assert "Traceback" not in r.stderr and "BrokenPipe" not in r.stderr, r.stderr
    assert r.stdout.strip() in ("0", "141")  # done before the pipe closed, or stopped by it


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_stdout_is_one_line(tmp_path):  # noqa: ANN001, ANN201
    """`drcnet info >/dev/full` had ended in an OSError traceback."""
    with open("/dev/full", "w") as full:
        r = subprocess.run([sys.executable, "-m", "drcnet.cli", "info"], stdout=full,
                           stderr=subprocess.PIPE, text=True, timeout=120)
    assert r.returncode == 1
    assert r.stderr == ("drcnet: error: cannot write to standard output (No space left on "
                        "device)\n")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize(("module", "args"), [("drcnet.console", ["--help"]),
                                              ("drcnet.console", ["eval", "--help"]),
                                              ("drcnet.cli", ["--version"]),
                                              ("drcnet.cli", ["restore", "--help"]),
                                              ("drcnet.cli_train", ["sweep", "--help"])])
def test_a_help_text_stdout_cannot_take_is_one_line_and_status_1(module, args):  # noqa: ANN001, ANN201
    """argparse drops the OSError of the help's write: `drcnet --help >/dev/full` had ended
    with status 0, nothing written and nothing said."""
    with open("/dev/full", "w") as full:
        r = subprocess.run([sys.executable, "-m", module, *args], stdout=full,
                           stderr=subprocess.PIPE, text=True, timeout=120)
    assert r.returncode == 1
    assert r.stderr == ("drcnet: error: cannot write to standard output (No space left on "
                        "device)\n")


class _FullDisk(io.RawIOBase):
    """A stdout on a full disk: every write fails (once ``full`` is cleared, none does)."""

    def __init__(self, fd: int) -> None:
        self.fd, self.full = fd, True

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:  # noqa: ANN001
        if self.full:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return len(b)

    def fileno(self) -> int:
        return self.fd


def test_buffered_output_that_cannot_be_written_is_one_line(tmp_path, monkeypatch, capsys):  # noqa: ANN001, ANN201
    """Redirected to a file, stdout is buffered: the failure came at exit, after status 0."""
    from drcnet import cli

    with open(tmp_path / "stdout", "wb") as f:
        disk = _FullDisk(f.fileno())
        monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(io.BufferedWriter(disk, 1 << 16)))
        assert cli.main(["info"]) == 1
        disk.full = False  # what is left is not flushed into the test's own output
    assert capsys.readouterr().err == ("drcnet: error: cannot write to standard output (No "
                                       "space left on device)\n")


def test_a_help_text_on_a_full_disk_is_one_line(tmp_path, monkeypatch, capsys):  # noqa: ANN001, ANN201
    """The same, with a buffered stdout (a file on a full disk): said, status 1."""
    from drcnet import cli

    with open(tmp_path / "stdout", "wb") as f:
        disk = _FullDisk(f.fileno())
        monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(io.BufferedWriter(disk, 1 << 16)))
        with pytest.raises(SystemExit) as stop:
            cli.main(["--help"])
        disk.full = False
    assert stop.value.code == 1
    assert capsys.readouterr().err == ("drcnet: error: cannot write to standard output (No "
                                       "space left on device)\n")


def test_a_help_text_is_still_printed(capsys):  # noqa: ANN001, ANN201
    from drcnet import cli

    with pytest.raises(SystemExit) as stop:
        cli.main(["eval", "--help"])
    assert stop.value.code == 0 and "--json" in capsys.readouterr().out


def test_an_oserror_elsewhere_is_still_a_bug(monkeypatch):  # noqa: ANN001, ANN201
    """Only stdout's failure is said in one line: any other OSError keeps its traceback."""
    from drcnet import cli

    def broken(_args):  # noqa: ANN001, ANN202
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cli, "cmd_info", broken)
    with pytest.raises(OSError, match="No space"):
        cli.main(["info"])


def test_a_command_whose_module_cannot_import_says_why(monkeypatch, capsys):  # noqa: ANN001, ANN201
    """`bench` vanished from the commands ("invalid choice") when its module failed to
    import (Python's `resource` is Unix-only)."""
    import builtins

    from drcnet import cli

    real = builtins.__import__

    def blocked(name, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if name == "drcnet.bench":
            raise ImportError("No module named 'resource'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", blocked)
    assert cli.main(["bench", "--device", "cpu"]) == 1
    err = capsys.readouterr().err
    assert "drcnet bench cannot run here: No module named 'resource'" in err


def test_a_missing_dependency_is_one_line(tmp_path):  # noqa: ANN001, ANN201
    (tmp_path / "sitecustomize.py").write_text(
        "import importlib.abc, sys\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'safetensors':\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Block())\n")
    import os

    code = "import sys; from drcnet.console import main; sys.exit(main())"
    r = subprocess.run([sys.executable, "-c", code, "info"], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=str(tmp_path)), timeout=120)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert "the package providing 'safetensors' is not installed" in r.stderr


@pytest.mark.parametrize("args", [["restore", "--help"], ["eval", "--help"]])
def test_output_in_a_code_page_without_greek_letters_does_not_crash(args):
    """Redirected, Windows' stdout encodes in the ANSI code page (cp1252), strictly: the σ and
    δ of the help texts and eval's table had ended the command with UnicodeEncodeError."""
    import os

    env = {**os.environ, "PYTHONIOENCODING": "cp1252"}
    out = subprocess.run([sys.executable, "-m", "drcnet.console", *args], capture_output=True,
                         env=env, check=False)
    assert out.returncode == 0, out.stderr.decode("cp1252", "replace")[-300:]
    assert b"\\u03c3" in out.stdout or b"\\u03b4" in out.stdout  # said, escaped


@pytest.mark.parametrize(("env", "errors"), [({"LC_ALL": "C"}, "surrogateescape"),
                                              ({"PYTHONIOENCODING": "utf-8:replace"}, "replace"),
                                              ({"PYTHONIOENCODING": "ascii"}, "backslashreplace")])
def test_only_a_strict_stdout_is_made_tolerant(env, errors):
    """Under the C locale stdout writes undecodable file names back as their bytes
    (surrogateescape); forcing backslashreplace had printed them as \\udce9 to scripts that read
    drcnet's output, and overrode an error handler PYTHONIOENCODING asked for."""
    import os

    base = {k: v for k, v in os.environ.items()
            if k not in ("PYTHONIOENCODING", "LC_ALL", "LANG", "LC_CTYPE", "PYTHONUTF8")}
    code = ("import sys; from drcnet.console import tolerant_streams; tolerant_streams(); "
            "print(sys.stdout.errors)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**base, **env}, check=True)
    assert out.stdout.strip() == errors


def test_the_package_names_usage_error_and_lists_what_loads_lazily():
    """README tells library users to catch drcnet's UsageError, which the package did not
    export; dir() (a notebook's completion) had not listed load_model or DRCNet."""
    code = ("import sys, drcnet; print(drcnet.UsageError.__name__, "
            "{'load_model', 'DRCNet', 'TASKS'} <= set(dir(drcnet)), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "UsageError True False"  # listed, not yet loaded
