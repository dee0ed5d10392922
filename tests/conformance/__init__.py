"""The conformance registry: one table of edge cases run through every path (issue 10).

``registry.py`` holds the interface; ``cases_<family>.py`` add rows, ``paths_<who>.py`` add
paths; ``tests/test_conformance.py`` imports them all and runs every (case, path) pair.
"""
