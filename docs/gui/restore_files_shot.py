"""Make docs/gui/restore_files.png: File ▸ Restore Files after a run over three bundled
samples and a file that is not an image (its failure shows in the log). Default settings (a
private, empty settings folder); the files are copied to a temporary folder.

    QT_QPA_PLATFORM=offscreen python docs/gui/restore_files_shot.py
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> int:
    from docs.gui.zoom_shots import offscreen_app
    from drcnet_studio.main_window import MainWindow

    _app, pump = offscreen_app()
    folder = Path(tempfile.mkdtemp(prefix="drcnet-shot-")) / "photos"
    folder.mkdir()
    for name in ("blurry.png", "noisy.png", "rain.png"):
        shutil.copy(ROOT / "resources/samples" / name, folder / name)
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40) + b"IEND")

    w = MainWindow(task="derain", device="cpu")
    w.show()
    pump(20, lambda: w.info is not None)
    dlg = w.make_batch_dialog()
    dlg.show()
    dlg.add_inputs([folder])
    dlg.start()
    pump(120, lambda: not dlg.running())
    pump(1)
    out = ROOT / "docs/gui/restore_files.png"
    dlg.grab().save(str(out))
    print(f"{out}: {dlg.width()}×{dlg.height()}; {dlg.status.text()}")
    dlg.done(0)
    w.close()
    pump(1)
    shutil.rmtree(folder.parent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
