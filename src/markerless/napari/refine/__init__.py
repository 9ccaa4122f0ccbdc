"""Refine and results dock: outliers, corrections, merge; filtering, labeled videos, plots.

dock.py: RefineWidget; jobs.py: the jobs, machine-label layers and corrections (Qt-free).
"""
