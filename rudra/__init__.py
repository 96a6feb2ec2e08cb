"""The front door: experiment config (TOML -> validated dataclasses) and the `rudra` command line."""
