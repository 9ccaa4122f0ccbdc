"""Extract frames dock: pick frames to label (k-means or uniform) or add the frame on screen.

dock.py: FramesWidget; jobs.py: extraction and one-frame saving (Qt-free).
"""
