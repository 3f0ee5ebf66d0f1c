"""emogen: emotion-conditioned generative media."""
__version__ = "0.1.0"
