"""Tracks dock: proofread multi-animal tracks (swap identities, jump to events, save, send
frames to labeling)."""
