"""acuhead: headache and migraine care for acupuncture practices."""

__version__ = "0.1.0"
