"""``python -m brittle.cli``: the ``brittle`` command."""

import sys

from brittle.cli import main

sys.exit(main())
