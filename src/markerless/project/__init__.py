"""Project folders: create, add videos, extract frames (DeepLabCut layout)."""
