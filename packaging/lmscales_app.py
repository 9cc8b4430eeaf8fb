"""The frozen app's entry point (PyInstaller runs this file as `__main__`).

`multiprocessing.freeze_support()` comes first: the local engine is a *spawned* child process, and in a
frozen app that child is this same executable started with multiprocessing's arguments. freeze_support()
recognises them, runs the child's work and exits, before anything else (the window, argparse) happens.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from lmscales.__main__ import main

    sys.exit(main())
