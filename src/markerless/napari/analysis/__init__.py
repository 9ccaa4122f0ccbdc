"""Analysis dock: analyse videos with a trained snapshot and browse the predictions.

dock.py: AnalysisWidget; jobs.py: iter_analyze as a job (Qt-free).
"""
