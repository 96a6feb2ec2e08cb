"""`python -m rudra` is the `rudra` command (also the torchrun entry: torchrun ... -m rudra train FILE)."""
import sys

from rudra.cli import main

sys.exit(main())
