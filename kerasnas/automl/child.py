"""`python -m kerasnas.automl.child ARGS STATUS LIMIT`: one recycled child of `trials_per_process`.

The entry point `kerasnas.automl.recycle` starts: it runs the search's next
`LIMIT` trials from the pickled arguments and writes how it ended to `STATUS`
(see `recycle.run_child`). It lives apart from `recycle` so that `recycle`,
which `kerasnas.search` imports, never imports `kerasnas.search` back.
"""

import sys

from kerasnas.automl.pipeline import search
from kerasnas.automl.recycle import run_child

if __name__ == "__main__":
    sys.exit(run_child(search, *sys.argv[1:4]))
