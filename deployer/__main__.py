"""`python -m deployer`: the command-line entry point (see deployer.cli)."""

import sys

from deployer.cli import main

sys.exit(main())
