"""Where the demos find ../shared (the team's models and pictures): $KPUSIM_SHARED_DIR, else
the folder `shared` beside the project root."""

import os

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get("KPUSIM_SHARED_DIR") or os.path.join(HERE, "..", "..", "..", "shared")


def shared(*parts):
    return os.path.normpath(os.path.join(SHARED, *parts))
