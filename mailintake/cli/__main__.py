"""`python -m mailintake.cli`: the same command as the `mailintake` script."""

import sys

from mailintake.cli import main

sys.exit(main())
