"""`python -m daml_cli` runs the same app as the `daml` command."""

from daml_cli.cli.main import main

if __name__ == "__main__":
    main()
