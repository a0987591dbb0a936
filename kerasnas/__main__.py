"""`python -m kerasnas ...` runs the `kerasnas` command (see `kerasnas.cli`)."""

import sys

from kerasnas.cli import main

sys.exit(main())
