"""Project dock: create or open a project, edit config.yaml, see what it holds.

dock.py: ProjectWidget; jobs.py: form text, the project scan, project creation (Qt-free).
"""
