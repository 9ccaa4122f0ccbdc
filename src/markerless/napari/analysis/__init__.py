"""Analysis dock: analyse videos with a trained snapshot and browse the predictions.

dock.py: AnalysisWidget; export_panel.py: its Export section; jobs.py: the jobs (Qt-free).
"""
