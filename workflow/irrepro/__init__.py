"""irrepro: the library behind the Snakemake pipeline; every rule's logic lives here."""

__version__ = "0.1.0"
