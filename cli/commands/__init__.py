"""Sub-commands of `invoices`: each module has `register(subparsers)`."""
