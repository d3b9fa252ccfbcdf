"""The `invoices` command line: `main.main`, one module of sub-commands per group in `commands/`."""
