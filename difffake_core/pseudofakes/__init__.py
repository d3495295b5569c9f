"""Self-blended pseudo-deepfakes (SBI) made from real face crops."""
