"""ST4RT+'s models, one file each (see the README's architecture section), and what they share."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable


def update_checkpoint(path, change: Callable[[dict], object]) -> None:
    """Load the checkpoint dict at `path`, let `change(ck)` edit it, and write it back
    atomically (a temporary file beside it, then a rename: a kill leaves the old file or
    the new one).  How a calibration chosen on the valid split is stored in a shipped file.
    """
    import torch     # here, not at the top: importing the package stays light
    ck = torch.load(path, map_location="cpu", weights_only=True)
    change(ck)
    tmp = Path(str(path) + ".tmp")
    torch.save(ck, tmp)
    os.replace(tmp, path)
