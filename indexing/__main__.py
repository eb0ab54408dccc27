"""Entry point of `python -m indexing`."""

from indexing.cli import main

if __name__ == "__main__":
    main()
