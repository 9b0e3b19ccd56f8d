"""`python -m audiofetch_app` runs the same command as `audiofetch`."""

import multiprocessing

if __name__ == "__main__":
    # Must come first: a frozen app's spawned children re-enter here.
    multiprocessing.freeze_support()
    from audiofetch_app.cli import main

    raise SystemExit(main())
