"""Training dock: train a network, watch the loss, see the evaluation.

dock.py: TrainingWidget; jobs.py: dataset -> training -> evaluation as one job
(Qt-free); plots.py: the loss curve and evaluation bars.
"""
